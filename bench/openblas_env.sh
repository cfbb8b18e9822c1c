# bench/openblas_env.sh - sourced by the benchmark scripts (not a benchmark itself).
#
# OpenBLAS 0.3.21 (Debian 12) does not recognise every recent CPU: on this project's Xeon
# (family 6 model 207) its DYNAMIC_ARCH build falls back to the Prescott (SSE3) kernel, and
# sgemm runs at about 16 GMAC/s per core instead of about 74 with its AVX-512 kernel. A
# baseline must be OpenBLAS at its best, so unless OPENBLAS_CORETYPE is already set this
# sets it from the CPU flags (SkylakeX with AVX-512, Haswell with AVX2). Benchmarks only:
# tests and CI leave OpenBLAS as it is.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    if grep -qw avx512f /proc/cpuinfo; then
        export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then
        export OPENBLAS_CORETYPE=Haswell
    fi
fi
