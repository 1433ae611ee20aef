"""The IPython start-up lines that give a Spark kernel ``spark``, ``sc``, ``sqlContext``.

A sibling module of ``launch_ipykernel.py`` (standard library only; the code strings run in
the kernel, where pyspark is). In YARN cluster mode the application master registers with
YARN only once a SparkContext exists, so a Spark kernel must create one: ``eager`` before
the kernel answers, ``lazy`` in a background thread at start.
"""

__all__ = ["SPARK_WAIT", "spark_code"]

SPARK_INIT = """\
def _jrk_make_spark():
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    return {'spark': spark, 'sc': spark.sparkContext, 'sqlContext': spark, 'sqlCtx': spark}
"""

#: How long one use of a lazy ``spark``/``sc`` waits for the SparkSession (each use again).
SPARK_WAIT = 600

# Lazy mode: ``spark``, ``sc``, ``sqlContext`` and ``sqlCtx`` are placeholders from the start
# that wait for the SparkSession (created in a background thread) on first use; once it
# exists the names are the real objects (unless a cell rebound them meanwhile).
SPARK_LAZY = """\
import sys as _jrk_sys, threading as _jrk_threading, traceback as _jrk_traceback
_jrk_spark = {'done': _jrk_threading.Event()}
def _jrk_spark_get(name):
    if not _jrk_spark['done'].wait(%(wait)d):
        raise TimeoutError(
            '%%s is not ready: the SparkSession this kernel began to create at its start is '
            'still not there after %(wait)d s more (a busy cluster?). Run the cell again to '
            'wait longer, or restart the kernel.' %% name)
    error = _jrk_spark.get('error')
    if error is not None:
        lines = [line for line in str(error).splitlines() if line.strip()][:6]
        raise RuntimeError('%%s is not available: creating the SparkSession failed: %%s: %%s'
                           %% (name, type(error).__name__, chr(10).join(lines))) from error
    return _jrk_spark[name]
class _JrkSparkPending:
    'Stands for spark / sc / sqlContext until the SparkSession exists, and waits for it.'
    __slots__ = ('_jrk_name',)
    def __init__(self, name):
        object.__setattr__(self, '_jrk_name', name)
    def _jrk_target(self):
        return _jrk_spark_get(object.__getattribute__(self, '_jrk_name'))
    def __getattr__(self, attr):
        return getattr(self._jrk_target(), attr)
    def __setattr__(self, attr, value):
        setattr(self._jrk_target(), attr, value)
    def __dir__(self):
        return dir(self._jrk_target())
    def __repr__(self):
        return repr(self._jrk_target())
    def __str__(self):
        return str(self._jrk_target())
    def __call__(self, *args, **kwargs):
        return self._jrk_target()(*args, **kwargs)
    def __enter__(self):
        return self._jrk_target().__enter__()
    def __exit__(self, *exc):
        return self._jrk_target().__exit__(*exc)
_jrk_pending = {n: _JrkSparkPending(n) for n in ('spark', 'sc', 'sqlContext', 'sqlCtx')}
globals().update(_jrk_pending)
def _jrk_spark_start(names=globals()):
    try:
        _jrk_spark.update(_jrk_make_spark())
        for name, pending in _jrk_pending.items():
            if names.get(name) is pending:
                names[name] = _jrk_spark[name]
    except BaseException as exc:
        _jrk_spark['error'] = exc
        print('Creating the SparkSession failed:', file=_jrk_sys.__stderr__)
        _jrk_traceback.print_exc(file=_jrk_sys.__stderr__)
    finally:
        _jrk_spark['done'].set()
_jrk_threading.Thread(target=_jrk_spark_start, name='spark-init', daemon=True).start()
""" % {"wait": SPARK_WAIT}


def spark_code(mode):
    """The start-up code of ``mode`` (``eager`` or ``lazy``); None for an unknown mode."""
    if mode == "eager":
        return SPARK_INIT + "globals().update(_jrk_make_spark())"
    if mode == "lazy":
        return SPARK_INIT + SPARK_LAZY
    return None
