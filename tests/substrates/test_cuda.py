"""brian2cuda's ``cuda_standalone`` through the substrate's standalone code path.

What runs where:

* everywhere (CI's Python 3.11 venv too): asking for ``cuda_standalone`` without
  brian2cuda is a :class:`DependencyNotInstalled` error that names the pip command;
* with brian2cuda (Python >= 3.12): CUDA code generation (``make`` replaced by
  ``true``, about 1 s), with GPU detection switched off when no GPU is visible;
* with brian2cuda and ``nvcc`` (``slow``: 2.5 min on 2 idle cores, 12 min measured on
  the busy shared machine): compilation, and
  on a machine without a GPU, that running fails with the CUDA runtime's message;
* with a GPU (``gpu``): a forward pass. No GPU was available where this was written,
  so that test has never run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from networks import lif_feedforward
from spiking_synrl.errors import ConfigError, DependencyNotInstalled

pytestmark = [pytest.mark.brian, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

brian = pytest.importorskip("spiking_synrl.substrates.brian")

HAS_BRIAN2CUDA = importlib.util.find_spec("brian2cuda") is not None
needs_brian2cuda = pytest.mark.skipif(
    not HAS_BRIAN2CUDA,
    reason="brian2cuda is not installed (pip install --pre 'spiking_synrl[cuda]', Python >= 3.12)",
)
needs_nvcc = pytest.mark.skipif(
    shutil.which("nvcc") is None, reason="no CUDA compiler: nvcc is not on the PATH"
)

#: a 2-3-1 network, one sample and one candidate per run: the smallest program
NET_KW = dict(loss="mse", batch_size=1, n_candidates=1, duration_ms=20.0, max_rate_hz=300.0)


def cuda_network(cache, **kw):
    return lif_feedforward.network(
        2, (3,), 1, device="cuda_standalone", cache_dir=cache, run_dir=cache / "runs",
        **NET_KW, **kw,
    )  # fmt: skip


def projects(cache):
    """The build directories in a cache (not their ``.lock`` files)."""
    return [p for p in cache.glob("cuda_standalone-feedforward-*") if p.is_dir()]


@pytest.fixture
def toolkit_or_version(monkeypatch, tmp_path):
    """brian2cuda asks nvcc for the CUDA version; without nvcc, tell it (code
    generation needs no compiler)."""
    if shutil.which("nvcc") is None and not os.environ.get("CUDA_PATH"):
        import brian2
        from brian2cuda.utils.gputools import reset_cuda_installation

        backend = "devices.cuda_standalone.cuda_backend."
        monkeypatch.setitem(brian2.prefs, backend + "detect_cuda", False)
        monkeypatch.setitem(brian2.prefs, backend + "cuda_path", str(tmp_path / "no-cuda"))
        monkeypatch.setitem(brian2.prefs, backend + "cuda_runtime_version", 13.0)
        reset_cuda_installation()
        yield
        reset_cuda_installation()
    else:
        yield


# -- without brian2cuda -------------------------------------------------------------
def test_cuda_without_brian2cuda_is_dependency_error(tmp_path, monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "brian2cuda" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(DependencyNotInstalled, match=r'pip install --pre "spiking_synrl\[cuda\]"'):
        cuda_network(tmp_path)


# -- code generation ----------------------------------------------------------------
@needs_brian2cuda
def test_cuda_code_generation(tmp_path, monkeypatch, toolkit_or_version):
    import brian2

    monkeypatch.setitem(brian2.prefs, "devices.cpp_standalone.make_cmd_unix", "true")
    monkeypatch.setenv(brian.CUDA_CC_ENV, "8.0")
    before = brian.BrianSubstrate.n_builds
    net = cuda_network(tmp_path)
    net.build()
    (project,) = projects(tmp_path)
    assert brian.BrianSubstrate.n_builds == before + 1
    assert not (project / "main").exists()  # make was `true`: nothing compiled

    code = project / "code_objects"
    kernels = {
        "pop_hid_stateupdater_codeobject": "I_bias",  # the LIF equation of each layer
        "pop_out_stateupdater_codeobject": "I_noise",
        "pop_hid_spike_thresholder_codeobject": "",
        "syn_in_hid_pre_codeobject": "_ptr_array_syn_in_hid_w",  # on_pre: v_post += w_scale*w
        "syn_hid_out_pre_codeobject": "_ptr_array_syn_hid_out_w",
        "syn_in_hid_pre_push_spikes": "",
    }
    for name, variable in kernels.items():
        text = (code / f"{name}.cu").read_text()
        assert "__global__" in text and f"kernel_{name}(" in text, name
        assert variable in text, (name, variable)
    for source in ("main.cu", "objects.cu", "network.cu", "run.cu", "rand.cu"):
        assert (project / source).is_file(), source
    # cuRAND is seeded per run from the environment, not with time(0)
    assert "random_number_buffer.set_seed(std::strtoull(_s" in (project / "main.cu").read_text()
    # the synapse kernels read defaultclock (brian2cuda 1.0b1): it must be declared
    assert "Clock brian::defaultclock;" in (project / "objects.cu").read_text()

    makefile = (project / "makefile").read_text()
    assert "-arch=sm_80" in makefile  # $SPIKING_SYNRL_CUDA_CC, GPU detection off
    settings = brian._cuda_settings()
    if settings["cuda_runtime_version"] >= 13.0:  # brian2 PR #1853's C++17 workaround
        assert "-std=c++11" not in makefile and "-std=c++17" in makefile
    if settings["curand"]:  # cuRAND from the nvidia-curand wheel
        assert f"-I{settings['curand'][0]}" in makefile
        assert (project / "cuda_lib" / "libcurand.so").resolve().is_file()

    meta = json.loads((project / "program.json").read_text())
    assert meta["args"]["syn_in_hid.w"] == ["float64", 2 * 3]
    assert meta["args"]["pop_in.rates"] == ["float64", 2]

    # the compute capability is part of the cache key: another one is another program
    monkeypatch.setenv(brian.CUDA_CC_ENV, "8.6")
    cuda_network(tmp_path).build()
    assert brian.BrianSubstrate.n_builds == before + 2
    assert len(projects(tmp_path)) == 2


@needs_brian2cuda
def test_bad_compute_capability_env_is_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv(brian.CUDA_CC_ENV, "sm_80")
    with pytest.raises(ConfigError, match=r"SPIKING_SYNRL_CUDA_CC.*'8\.6'.*'sm_80'"):
        cuda_network(tmp_path).build()


# -- compilation (and running) --------------------------------------------------------
@needs_brian2cuda
@needs_nvcc
def test_failed_cuda_compile_shows_the_nvcc_message(tmp_path, monkeypatch):
    import brian2

    key = "devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc"
    monkeypatch.setitem(brian2.prefs, key, [*brian2.prefs[key], "--no-such-nvcc-option"])
    with pytest.raises(brian.BuildError, match=r"(?s)Compiler output.*no-such-nvcc-option"):
        cuda_network(tmp_path).build()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The 2-3-1 network compiled with nvcc (about 2.5 min with make -j2)."""
    cache = tmp_path_factory.mktemp("cuda-cache")
    net = cuda_network(cache)
    net.build_seconds = net.build()
    (net.project,) = projects(cache)
    yield net
    net.close()


@needs_brian2cuda
@needs_nvcc
@pytest.mark.slow
@pytest.mark.timeout(2400)  # the fixture's nvcc build: 12 min on 2 busy cores
def test_cuda_compiles(compiled):
    main = compiled.project / "main"
    assert main.is_file() and os.access(main, os.X_OK)
    if shutil.which("ldd"):  # the program finds cuRAND (a wheel's: through the rpath)
        libs = subprocess.run(["ldd", str(main)], capture_output=True, text=True).stdout
        assert "libcurand.so" in libs
        assert "libcurand.so.10 => not found" not in libs


@needs_brian2cuda
@needs_nvcc
@pytest.mark.slow
@pytest.mark.timeout(2400)  # the fixture's nvcc build: 12 min on 2 busy cores
def test_cuda_run_without_gpu_shows_the_cuda_error(compiled):
    if brian.cuda_gpu_visible():
        pytest.skip("a GPU is visible: the run succeeds (test_cuda_forward_on_gpu)")
    w = compiled.init_weights(np.random.default_rng(0))
    with pytest.raises(brian.SimulationError, match=r"(?i)cuda"):
        compiled.forward(w, np.array([[1.0, 0.0]]))


@needs_brian2cuda
@needs_nvcc
@pytest.mark.slow
@pytest.mark.timeout(2400)  # the fixture's nvcc build: 12 min on 2 busy cores
@pytest.mark.gpu
@pytest.mark.skipif(
    not brian.cuda_gpu_visible(),
    reason="no NVIDIA GPU visible (nvidia-smi is missing or lists none): CUDA programs cannot run",
)
def test_cuda_forward_on_gpu(compiled):
    w = compiled.init_weights(np.random.default_rng(0))
    w["bias->hid"][:] = 2.0  # above threshold: the hidden layer fires without input
    fwd = compiled.forward(w, np.array([[1.0, 1.0]]))
    assert fwd.outputs.shape == (1, 1)
    hidden = fwd.traces["act:hid"] / compiled.act_per_spike  # spike counts
    np.testing.assert_allclose(hidden, np.round(hidden), atol=1e-9)
    assert hidden.sum() > 0
