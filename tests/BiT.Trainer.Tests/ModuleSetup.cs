using System.Runtime.CompilerServices;
using BiT.Model.Native;

namespace BiT.Trainer.Tests;

internal static class ModuleSetup
{
    // As bit-trainer's Main does before libtorch loads: oneMKL's kernels by the CPU's features on non-Intel CPUs
    // (Model/Native/MklDispatch.cs), so the in-process training tests run the matrix products the trainer runs.
#pragma warning disable CA2255 // a test assembly's set-up, before any test touches libtorch
    [ModuleInitializer]
    internal static void Initialize() => MklDispatch.Apply();
#pragma warning restore CA2255
}
