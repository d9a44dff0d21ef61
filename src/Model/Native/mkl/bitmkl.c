/*
 * libbitmkl.so: oneMKL's CPU-vendor check, answered "yes".
 *
 * libtorch's CPU build links oneMKL statically and exports its service functions. oneMKL chooses its kernels (sgemm
 * and the rest) by the CPU's instruction sets only on CPUs whose vendor string is GenuineIntel; on every other x86-64
 * CPU it takes a generic path (MKL_VERBOSE: "Intel(R) Architecture processors"), which here ran R50x1's 1x1
 * convolutions (matrix products) at half the speed of the AVX-512 kernels the same CPU runs correctly. These two
 * functions are oneMKL's vendor check. MklDispatch.cs loads this library with RTLD_GLOBAL before libtorch is loaded, so
 * that libtorch_cpu.so's calls bind to them (the same interposition as LD_PRELOAD); oneMKL then picks its kernels by
 * the CPU's feature flags (AVX2, AVX-512, ...), which it still checks itself.
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
int mkl_serv_intel_cpu(void) { return 1; }
