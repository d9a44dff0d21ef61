using System.Runtime.InteropServices;

namespace KubeEmulator.KubeletRuntime;

/// <summary>POSIX signals for container processes: .NET's Process.Kill only sends SIGKILL.</summary>
internal static partial class NativeSignals
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
#pragma warning disable SYSLIB1054, CA5392 // A single blittable libc call: source-generated marshalling would need unsafe blocks for nothing.
    private static extern int Kill(int pid, int sig);
#pragma warning restore SYSLIB1054, CA5392

    public static bool Send(int pid, int signal)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return false;
        }
        return Kill(pid, signal) == 0;
    }
}
