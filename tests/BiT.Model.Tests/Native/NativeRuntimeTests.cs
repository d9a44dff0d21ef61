using System.Runtime.InteropServices;
using BiT.Model.Native;

namespace BiT.Model.Tests.Native;

public sealed partial class NativeRuntimeTests
{
    private const int PageSize = 4096;

    [Fact]
    public void The_heap_settings_apply_on_glibc_and_once()
    {
        Assert.True(NativeHeap.Configure());
        Assert.True(NativeHeap.Configure());
    }

    [Fact]
    public void Freed_blocks_below_the_mapping_threshold_are_reused_without_faulting_their_pages_again()
    {
        Assert.True(NativeHeap.Configure());
        const int bytes = 8 * 1024 * 1024;
        // The first round may fault the pages in; the second must find them still in the process.
        Touch(bytes);
        var before = ThreadMinorFaults();
        Touch(bytes);
        var faults = ThreadMinorFaults() - before;
        Assert.True(faults < bytes / PageSize / 10, $"{faults} page faults reusing {bytes / PageSize} pages");
    }

    [Fact]
    public void The_openmp_wait_policy_is_passive_unless_the_environment_chose()
    {
        // The test host has loaded libtorch already, so this checks the variable, not libgomp's reading of it.
        var chosen = Environment.GetEnvironmentVariable(OpenMpDefaults.WaitPolicyVariable);
        var set = OpenMpDefaults.Apply();
        if (string.IsNullOrEmpty(chosen))
        {
            Assert.True(set);
            Assert.Equal("PASSIVE", OpenMpDefaults.NativeValue(OpenMpDefaults.WaitPolicyVariable));
        }
        else
        {
            Assert.False(set);
            Assert.Equal(chosen, OpenMpDefaults.NativeValue(OpenMpDefaults.WaitPolicyVariable));
        }
    }

    private static void Touch(int bytes)
    {
        var block = Marshal.AllocHGlobal(bytes);
        try
        {
            for (var offset = 0; offset < bytes; offset += PageSize)
            {
                Marshal.WriteByte(block, offset, 1);
            }
        }
        finally
        {
            Marshal.FreeHGlobal(block);
        }
    }

    private static long ThreadMinorFaults()
    {
        // struct rusage: two timevals, then longs; ru_minflt is the fifth long (index 8 counting the timevals' 4).
        var usage = new long[18];
        Assert.Equal(0, getrusage(1 /* RUSAGE_THREAD */, usage));
        return usage[8];
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int getrusage(int who, [Out] long[] usage);
}
