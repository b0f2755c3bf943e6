"""Fixtures for the sora2fs integration tests: a simulator and real mounts.

Run (as root, or a user who can mount FUSE), after `meson setup build && ninja -C build`:

    cd tests && /usr/bin/python3 -m pytest integration/          # or: tests/run.sh
    SORA2FS_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --suppressions=tests/valgrind.supp -q" \
        SORA2FS_SLOW=10 /usr/bin/python3 -m pytest integration/test_jobs.py

    sim                 a running sora2-sim (options: @pytest.mark.sim(gen_time=2, ...))
    sim_factory(**o)    more simulators, or ones configured inside the test
    mount               sora2fs mounted against `sim`, API key written
                        (options: @pytest.mark.mount(opts=[...], key=None, ...))
    mount_factory(**o)  more mounts; same keywords as util.Mount

Environment:
    SORA2FS          the daemon (default build/sora2fs)
    SORA2_SIM        the simulator (default build/tests/sim/sora2-sim)
    SORA2FS_WRAPPER  command prefix for the daemon, e.g.
                     "valgrind --error-exitcode=99 --leak-check=full --suppressions=tests/valgrind.supp -q"
    SORA2FS_SLOW     factor for every deadline (10 under valgrind)

Every mount is unmounted with `fusermount3 -u -z` whatever happened. The test
then fails if the daemon exited abnormally, printed a sanitizer report, printed
a `warning:`/`error:` line the test did not declare with `mount.expect_log()`,
or printed a secret.
"""

import pytest

from util import Mount, Sim


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item, so fixtures know if the test failed.
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _test_failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


@pytest.fixture
def sim_factory(tmp_path):
    sims = []

    def make(**opts):
        s = Sim(tmp_path / f"sim{len(sims)}", **opts)
        sims.append(s)
        return s

    yield make
    problems = [p for p in (s.stop() for s in sims) if p]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def sim(request, sim_factory):
    marker = request.node.get_closest_marker("sim")
    return sim_factory(**(marker.kwargs if marker else {}))


@pytest.fixture
def mount_factory(request, tmp_path, sim):
    mounts = []

    def make(start=True, **kw):
        kw.setdefault("sim", sim)
        m = Mount(tmp_path / f"m{len(mounts)}", **kw)
        mounts.append(m)
        if start:
            m.start()
        return m

    yield make

    problems = []
    for m in mounts:
        try:
            m.umount()
        except Exception as e:  # keep unmounting the others
            problems.append(f"unmounting {m.mnt}: {e!r}")
        problems += m.problems()
    if _test_failed(request) or problems:
        for m in mounts:
            print(f"----- sora2fs log for {m.mnt} -----")
            print(m.log_text()[-8000:])
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def mount(request, mount_factory):
    marker = request.node.get_closest_marker("mount")
    return mount_factory(**(marker.kwargs if marker else {}))
