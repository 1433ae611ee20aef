#!/usr/bin/env bash
# Submits a jupyter_remote_kernels Python kernel to YARN in cluster mode.
#
#   run.sh LAUNCHER [launcher options...]      (argv of kernel.json; the server fills {...})
#
# LAUNCHER is the launcher's entry point (launch_ipykernel.py). It needs only the standard
# library, its sibling modules and the kernel's own packages (ipykernel). spark-submit copies
# the primary file, --py-files and --files into the container and nothing else: the launcher
# is the application's *primary* file, run from the container's working directory, and its
# siblings, which the server names in $JRK_LAUNCHER_SIBLINGS (a comma list of paths), go with
# --files into that same directory, where Python finds them beside the script. (Not with
# --py-files: PySpark's SparkContext then warns on the driver, in the user's first cell, that
# it "Failed to add file ... specified in 'spark.submit.pyFiles' to Python path".) Add what
# your kernel imports beyond the cluster's Python to SPARK_OPTS (--py-files / --archives),
# not to this script. spark-submit keeps only the last --files, so a --files in SPARK_OPTS or
# KERNEL_EXTRA_SPARK_OPTS is merged with the launcher's into one list here.
#
# The launch bundle (per-kernel secret) arrives in this script's environment, in the variable
# named by the launcher's --bundle-env option. It reaches the container as
# spark.yarn.appMasterEnv.<NAME> through a private (0600) properties file, never in argv.
# The application is tagged with the kernel id (spark.yarn.tags): that is how the server finds it.
#
# A YARN NodeManager writes every container variable into launch_container.sh as
# `export NAME="VALUE"`, unescaped: bash then strips quotes and expands $, backquotes and
# backslashes. The bundle is base64url (shell-safe) and carries the request's KERNEL_* values
# itself; a variable this script forwards otherwise (PYSPARK_PYTHON) is refused if bash
# would change it.
#
# Spark's ApplicationMaster registers with YARN (state RUNNING) only once the driver -- the
# kernel -- creates a SparkContext, and fails after spark.yarn.am.waitTime (100 s) otherwise:
# the launcher must run with --spark-context-initialization-mode lazy or eager.
set -euo pipefail

refuse() {
  echo "run.sh: $*" >&2
  exit 2
}

: "${SPARK_HOME:?SPARK_HOME is not set: set it in the kernelspec env or the server environment}"
: "${KERNEL_ID:?KERNEL_ID is not set: this script is run by the Jupyter server}"
LAUNCHER="${1:?usage: run.sh LAUNCHER [launcher options]}"
shift

BUNDLE_ENV=""
SPARK_CONTEXT_MODE="none"
previous=""
for arg in "$@"; do
  case "$previous" in
    --bundle-env) BUNDLE_ENV="$arg" ;;
    --spark-context-initialization-mode|--RemoteProcessProxy.spark-context-initialization-mode)
      SPARK_CONTEXT_MODE="$arg" ;;
  esac
  previous="$arg"
done
if [ -z "$BUNDLE_ENV" ] || [ -z "${!BUNDLE_ENV:-}" ]; then
  refuse "no launch bundle (--bundle-env NAME with NAME set); started by hand?"
fi
if [ "$SPARK_CONTEXT_MODE" != "lazy" ] && [ "$SPARK_CONTEXT_MODE" != "eager" ]; then
  refuse "--spark-context-initialization-mode $SPARK_CONTEXT_MODE cannot run in YARN cluster" \
    "mode: Spark's ApplicationMaster registers with YARN only once the kernel creates a" \
    "SparkContext, and fails after spark.yarn.am.waitTime (100 s) otherwise. Set it to lazy" \
    "or eager in the kernelspec's argv."
fi
if [ -z "${JRK_LAUNCHER_SIBLINGS:-}" ]; then
  refuse "JRK_LAUNCHER_SIBLINGS (the launcher's sibling modules) is not set: this script is" \
    "run by the Jupyter server of jupyter_remote_kernels; a server older than this kernelspec?"
fi
BUNDLE="${!BUNDLE_ENV}"
if [[ ! "$BUNDLE" =~ ^[A-Za-z0-9_=-]+$ ]]; then
  refuse "the launch bundle in \$$BUNDLE_ENV is not base64url; the server and this" \
    "kernelspec's launcher do not match (reinstall the kernelspec)"
fi
# Refuse a value that a NodeManager's launch script would change (see above).
shell_safe() {
  local name="$1" value="$2"
  if [[ "$value" == *[\"\$\`\\]* ]]; then
    refuse "$name=$value holds a character (\" \$ \` or \\) that YARN's container launch" \
      "script would expand or drop; use a value without them"
  fi
}

PROPS="$(umask 077 && mktemp "${TMPDIR:-/tmp}/jrk-spark-XXXXXX.conf")"
trap 'rm -f "$PROPS"' EXIT
# --properties-file replaces spark-defaults.conf: start from it.
DEFAULTS="${SPARK_CONF_DIR:-${SPARK_HOME}/conf}/spark-defaults.conf"
if [ -r "$DEFAULTS" ]; then cat "$DEFAULTS" >> "$PROPS"; echo >> "$PROPS"; fi
{
  printf 'spark.yarn.appMasterEnv.%s %s\n' "$BUNDLE_ENV" "$BUNDLE"
  printf 'spark.redaction.regex (?i)secret|password|token|access[.]key|%s\n' "$BUNDLE_ENV"
} >> "$PROPS"
unset "$BUNDLE_ENV"

IMPERSONATION_OPTS=()
if [ "${EG_IMPERSONATION_ENABLED:-False}" = "True" ] && [ -n "${KERNEL_USERNAME:-}" ]; then
  IMPERSONATION_OPTS=(--proxy-user "${KERNEL_USERNAME}")
fi
PYTHON_OPTS=()
if [ -n "${PYSPARK_PYTHON:-}" ]; then
  shell_safe PYSPARK_PYTHON "$PYSPARK_PYTHON"
  PYTHON_OPTS=(--conf "spark.yarn.appMasterEnv.PYSPARK_PYTHON=${PYSPARK_PYTHON}")
fi

# SPARK_OPTS and KERNEL_EXTRA_SPARK_OPTS are split on spaces, as Enterprise Gateway does.
# Their --files (the last one: spark-submit keeps only that) joins the launcher's siblings.
# shellcheck disable=SC2206
USER_OPTS=(${SPARK_OPTS:-} ${KERNEL_EXTRA_SPARK_OPTS:-})
SUBMIT_OPTS=()
USER_FILES=""
i=0
while [ "$i" -lt "${#USER_OPTS[@]}" ]; do
  opt="${USER_OPTS[$i]}"
  case "$opt" in
    --files)
      USER_FILES="${USER_OPTS[$((i + 1))]:-}"
      i=$((i + 1)) ;;
    --files=*) USER_FILES="${opt#--files=}" ;;
    *) SUBMIT_OPTS+=("$opt") ;;
  esac
  i=$((i + 1))
done
FILES="${JRK_LAUNCHER_SIBLINGS}${USER_FILES:+,${USER_FILES}}"

"${SPARK_HOME}/bin/spark-submit" \
  --master yarn --deploy-mode cluster \
  --name "${KERNEL_ID}" \
  --queue "${YARN_QUEUE:-default}" \
  --properties-file "$PROPS" \
  --conf "spark.yarn.tags=${KERNEL_ID}" \
  --conf spark.yarn.submit.waitAppCompletion=false \
  --conf spark.yarn.maxAppAttempts=1 \
  "${PYTHON_OPTS[@]}" \
  "${SUBMIT_OPTS[@]}" \
  --files "$FILES" \
  "${IMPERSONATION_OPTS[@]}" \
  "$LAUNCHER" "$@"
