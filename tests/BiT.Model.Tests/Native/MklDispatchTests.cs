using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using BiT.Model.Native;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Native;

public sealed class MklDispatchTests
{
    // oneMKL's name for its generic path (what it chose on this AMD EPYC without the shim).
    private const string GenericPath = "Intel(R) Architecture processors";

    [Fact]
    public void Auto_dispatches_by_features_on_other_vendors_only()
    {
        Assert.True(MklDispatch.Decide(null, Architecture.X64, "AuthenticAMD", libtorchLoaded: false).ByFeatures);
        Assert.True(MklDispatch.Decide("auto", Architecture.X64, "HygonGenuine", libtorchLoaded: false).ByFeatures);
        var intel = MklDispatch.Decide("", Architecture.X64, "GenuineIntel", libtorchLoaded: false);
        Assert.False(intel.ByFeatures);
        Assert.Contains("Intel CPU", intel.Reason, StringComparison.Ordinal);
        Assert.False(MklDispatch.Decide(null, Architecture.Arm64, "", libtorchLoaded: false).ByFeatures);
    }

    [Fact]
    public void The_setting_forces_either_way_and_a_bad_one_names_the_variable()
    {
        Assert.True(MklDispatch.Decide("features", Architecture.X64, "GenuineIntel", libtorchLoaded: false).ByFeatures);
        var vendor = MklDispatch.Decide("vendor", Architecture.X64, "AuthenticAMD", libtorchLoaded: false);
        Assert.False(vendor.ByFeatures);
        Assert.Contains("BIT_MKL_DISPATCH=vendor", vendor.Reason, StringComparison.Ordinal);
        var bad = Assert.Throws<ArgumentException>(() => MklDispatch.Decide("fast", Architecture.X64, "AuthenticAMD", libtorchLoaded: false));
        Assert.Contains("BIT_MKL_DISPATCH", bad.Message, StringComparison.Ordinal);
        Assert.Contains("'fast'", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_late_is_said_not_pretended()
    {
        var late = MklDispatch.Decide(null, Architecture.X64, "AuthenticAMD", libtorchLoaded: true);
        Assert.False(late.ByFeatures);
        Assert.Contains("loaded before", late.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cpu_vendor_is_read_from_cpuid()
    {
        var vendor = MklDispatch.CpuVendor();
        if (X86Base.IsSupported)
        {
            Assert.Equal(12, vendor.Length);
            var cpuinfo = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("vendor_id", StringComparison.Ordinal));
            Assert.NotNull(cpuinfo);
            Assert.EndsWith(vendor, cpuinfo.Trim(), StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("", vendor);
        }
    }

    [Fact]
    public void In_this_process_onemkl_runs_the_kernels_of_the_cpus_instruction_sets()
    {
        // The module initializer applied the dispatch before any test loaded libtorch, as bit-trainer's Main does.
        var applied = MklDispatch.Applied;
        Assert.NotNull(applied);
        using (zeros(1))
        {
        }
        var description = MklDispatch.KernelDescription();
        Assert.NotNull(description);
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64 && MklDispatch.CpuVendor() != "GenuineIntel")
        {
            Assert.True(applied.ByFeatures, applied.Reason);
        }
        if (Avx2.IsSupported)
        {
            Assert.DoesNotContain(GenericPath, description, StringComparison.Ordinal);
            Assert.Contains(Avx512F.IsSupported ? "AVX-512" : "AVX2", description, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Matrix_products_on_the_chosen_kernels_agree_with_a_double_precision_reference()
    {
        // Odd sizes reach the kernels' edge handling; both orientations of the 1x1 convolution's products (forward,
        // and the two of backward) are covered by the transposes.
        random.manual_seed(7);
        using var a = randn(257, 300);
        using var b = randn(300, 129);
        foreach (var (left, right) in new[] { (a, b), (b.t(), a.t()) })
        {
            using var product = left.mm(right);
            var l = left.contiguous().data<float>().ToArray();
            var r = right.contiguous().data<float>().ToArray();
            var p = product.contiguous().data<float>().ToArray();
            long m = left.shape[0], k = left.shape[1], n = right.shape[1];
            double worst = 0;
            for (long i = 0; i < m; i++)
            {
                for (long j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (long q = 0; q < k; q++)
                    {
                        sum += (double)l[i * k + q] * r[q * n + j];
                    }
                    worst = Math.Max(worst, Math.Abs(sum - p[i * n + j]));
                }
            }
            // Sums of 300 products of unit normals: float32 rounding stays far below 1e-3.
            Assert.InRange(worst, 0, 1e-3);
        }
    }
}
