using System.Runtime.CompilerServices;
using BiT.Distributed;

namespace BiT.Distributed.Tests;

/// <summary>
/// The NCCL binding where no GPU is: it loads only on request and reports absence in a sentence. Where a CUDA
/// image provides libnccl.so.2 the same test checks the library answers instead.
/// </summary>
public sealed class NcclTests
{
    [Fact]
    public void Loading_NCCL_reports_its_absence_cleanly_or_its_version_where_present()
    {
        var nccl = Nccl.TryLoad(out var reason);
        if (nccl is null)
        {
            Assert.Equal("NCCL is not present: libnccl.so.2 cannot be loaded (it ships with CUDA images and PyTorch's CUDA wheels)", reason);
        }
        else
        {
            Assert.Equal("", reason);
            Assert.True(nccl.Version >= 20000, $"NCCL version {nccl.Version}");
        }
    }

    [Fact]
    public void A_library_without_NCCL_s_functions_is_refused_naming_the_missing_one()
    {
        var other = Path.Combine(AppContext.BaseDirectory, "libbitdist.so");
        Assert.True(File.Exists(other));
        Assert.Null(Nccl.TryLoad(out var reason, other));
        Assert.StartsWith($"{other} is not NCCL's library", reason, StringComparison.Ordinal);
        Assert.Contains("ncclGetVersion", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_unique_id_has_NCCL_s_size()
    {
        Assert.Equal(128, Unsafe.SizeOf<NcclUniqueId>());
    }
}
