#!/usr/bin/env bash
# Submits a jupyter_remote_kernels Python kernel to YARN in cluster mode.
#
#   run.sh LAUNCHER [launcher options...]      (argv of kernel.json; the server fills {...})
#
# LAUNCHER is the launcher script (launch_ipykernel.py). It is a single file that needs only
# the standard library and the kernel's own packages (ipykernel), so it is shipped as the
# application's *primary* file: spark-submit copies the primary file, --py-files and --files
# into the container and nothing else. Add what your kernel imports beyond the cluster's
# Python to SPARK_OPTS (--py-files / --archives), not to this script.
#
# The launch bundle (per-kernel secret) arrives in this script's environment, in the variable
# named by the launcher's --bundle-env option. It reaches the container as
# spark.yarn.appMasterEnv.<NAME> through a private (0600) properties file, never in argv.
# The application is tagged with the kernel id (spark.yarn.tags): that is how the server finds it.
set -euo pipefail

: "${SPARK_HOME:?SPARK_HOME is not set: set it in the kernelspec env or the server environment}"
: "${KERNEL_ID:?KERNEL_ID is not set: this script is run by the Jupyter server}"
LAUNCHER="${1:?usage: run.sh LAUNCHER [launcher options]}"
shift

BUNDLE_ENV=""
previous=""
for arg in "$@"; do
  if [ "$previous" = "--bundle-env" ]; then BUNDLE_ENV="$arg"; fi
  previous="$arg"
done
if [ -z "$BUNDLE_ENV" ] || [ -z "${!BUNDLE_ENV:-}" ]; then
  echo "run.sh: no launch bundle (--bundle-env NAME with NAME set); started by hand?" >&2
  exit 2
fi

PROPS="$(umask 077 && mktemp "${TMPDIR:-/tmp}/jrk-spark-XXXXXX.conf")"
trap 'rm -f "$PROPS"' EXIT
# --properties-file replaces spark-defaults.conf: start from it.
DEFAULTS="${SPARK_CONF_DIR:-${SPARK_HOME}/conf}/spark-defaults.conf"
if [ -r "$DEFAULTS" ]; then cat "$DEFAULTS" >> "$PROPS"; echo >> "$PROPS"; fi
BUNDLE="${!BUNDLE_ENV}"
{
  printf 'spark.yarn.appMasterEnv.%s %s\n' "$BUNDLE_ENV" "${BUNDLE//\\/\\\\}"
  printf 'spark.redaction.regex (?i)secret|password|token|access[.]key|%s\n' "$BUNDLE_ENV"
} >> "$PROPS"
unset "$BUNDLE_ENV"

IMPERSONATION_OPTS=()
if [ "${EG_IMPERSONATION_ENABLED:-False}" = "True" ] && [ -n "${KERNEL_USERNAME:-}" ]; then
  IMPERSONATION_OPTS=(--proxy-user "${KERNEL_USERNAME}")
fi
PYTHON_OPTS=()
if [ -n "${PYSPARK_PYTHON:-}" ]; then
  PYTHON_OPTS=(--conf "spark.yarn.appMasterEnv.PYSPARK_PYTHON=${PYSPARK_PYTHON}")
fi

# SPARK_OPTS and KERNEL_EXTRA_SPARK_OPTS are split on spaces, as Enterprise Gateway does.
# shellcheck disable=SC2086
"${SPARK_HOME}/bin/spark-submit" \
  --master yarn --deploy-mode cluster \
  --name "${KERNEL_ID}" \
  --queue "${YARN_QUEUE:-default}" \
  --properties-file "$PROPS" \
  --conf "spark.yarn.tags=${KERNEL_ID}" \
  --conf spark.yarn.submit.waitAppCompletion=false \
  --conf spark.yarn.maxAppAttempts=1 \
  "${PYTHON_OPTS[@]}" \
  ${SPARK_OPTS:-} ${KERNEL_EXTRA_SPARK_OPTS:-} \
  "${IMPERSONATION_OPTS[@]}" \
  "$LAUNCHER" "$@"
