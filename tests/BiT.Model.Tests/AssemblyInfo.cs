// libtorch's default device and RNG are process-wide, and a 2-core machine gains nothing from running tensor tests
// side by side: run the tests of this assembly one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
