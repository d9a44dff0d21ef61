using System.Runtime.CompilerServices;
using BiT.Model.Native;

namespace BiT.Model.Tests;

internal static class ModuleSetup
{
    // As bit-trainer's Main does before libtorch loads: oneMKL's kernels by the CPU's features on non-Intel CPUs
    // (Model/Native/MklDispatch.cs), so every network test here (the PyTorch reference comparisons among them) runs
    // the matrix products the trainer runs.
#pragma warning disable CA2255 // a test assembly's set-up, before any test touches libtorch
    [ModuleInitializer]
    internal static void Initialize() => MklDispatch.Apply();
#pragma warning restore CA2255
}
