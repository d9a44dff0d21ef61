using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace BiT.Model.Native;

/// <summary>
/// Remembers the kernel probe's verdict per machine, so that a run does not pay the child process (3 s on an idle
/// machine, 24 s on a loaded one) every time. One small JSON file per key; the key hashes what the verdict depends
/// on: the CPU (model name and feature flags), the libtorch and TorchSharp builds, and <see cref="ProbeVersion"/>
/// (raised whenever the probe's steps change). A file that cannot be read, does not parse, or names another key is
/// ignored (the probe runs and the file is written again); a cache that cannot be written costs nothing but the
/// next run's probe. Only conclusive verdicts are kept: a child that passed, died or failed, never one that timed
/// out or could not be started.
/// </summary>
public sealed class KernelProbeCache
{
    /// <summary>The probe's own version, part of the key: raise it when <see cref="KernelProbe"/>'s steps change.</summary>
    public const int ProbeVersion = 2;

    /// <summary>Overrides the cache directory; empty turns the cache off.</summary>
    public const string DirectoryVariable = "BIT_KERNEL_CACHE_DIR";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Creates a cache of verdicts for <paramref name="key"/> in <paramref name="directory"/>.</summary>
    public KernelProbeCache(string directory, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(key);
        Directory = directory;
        Key = key;
    }

    /// <summary>Where the verdicts live.</summary>
    public string Directory { get; }

    /// <summary>What the verdict depends on, hashed.</summary>
    public string Key { get; }

    /// <summary>The file for this key.</summary>
    public string FilePath => Path.Combine(Directory, $"kernel-probe-{Key[..16]}.json");

    /// <summary>
    /// The cache for this machine: <c>$BIT_KERNEL_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/bit-trainer</c>, else
    /// <c>~/.cache/bit-trainer</c>; null when the variable is set empty or no home is known.
    /// </summary>
    public static KernelProbeCache? ForThisMachine()
    {
        var directory = DefaultDirectory(Environment.GetEnvironmentVariable(DirectoryVariable), Environment.GetEnvironmentVariable("XDG_CACHE_HOME"), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));
        return directory is null ? null : new KernelProbeCache(directory, MakeKey(CpuDescription(), LibraryDescription()));
    }

    /// <summary>The directory from the override, XDG_CACHE_HOME and the home directory, in that order; null for none.</summary>
    public static string? DefaultDirectory(string? overrideDirectory, string? xdgCacheHome, string? home)
    {
        if (overrideDirectory is not null)
        {
            return overrideDirectory.Length == 0 ? null : overrideDirectory;
        }
        if (!string.IsNullOrEmpty(xdgCacheHome))
        {
            return Path.Combine(xdgCacheHome, "bit-trainer");
        }
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "bit-trainer");
    }

    /// <summary>The key for a CPU and library description (SHA-256, hex).</summary>
    public static string MakeKey(string cpu, string libraries)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"kernel probe v{ProbeVersion}\n{cpu}\n{libraries}");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>The first CPU's model name and feature flags from /proc/cpuinfo (empty where there is none).</summary>
    public static string CpuDescription()
    {
        try
        {
            var lines = File.ReadLines("/proc/cpuinfo")
                .TakeWhile(line => line.Length > 0)
                .Where(line => line.StartsWith("vendor_id", StringComparison.Ordinal) || line.StartsWith("model name", StringComparison.Ordinal)
                               || line.StartsWith("flags", StringComparison.Ordinal) || line.StartsWith("cpu family", StringComparison.Ordinal)
                               || line.StartsWith("model\t", StringComparison.Ordinal));
            return string.Join('\n', lines);
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>libtorch's and TorchSharp's versions as this process loaded them.</summary>
    public static string LibraryDescription()
    {
        var torchSharp = typeof(TorchSharp.torch).Assembly;
        var informational = torchSharp.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? torchSharp.GetName().Version?.ToString();
        return $"libtorch {TorchSharp.torch.__version__}; TorchSharp {informational}";
    }

    /// <summary>The cached verdict for this key, or null (none, unreadable, corrupt, or another key's).</summary>
    public KernelProbeResult? TryRead()
    {
        try
        {
            if (!File.Exists(FilePath))
            {
                return null;
            }
            var entry = JsonSerializer.Deserialize<Entry>(File.ReadAllText(FilePath));
            return entry is { Key: { } key, Detail: { } detail } && key == Key ? new KernelProbeResult(entry.Passed, detail) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Keeps a conclusive verdict (written to a temporary file, then renamed); false where it could not.</summary>
    public bool TryWrite(KernelProbeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!result.Conclusive)
        {
            return false;
        }
        var temporary = $"{FilePath}.{Environment.ProcessId}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(temporary, JsonSerializer.Serialize(new Entry(Key, result.Passed, result.Detail, DateTimeOffset.UtcNow), Json));
            File.Move(temporary, FilePath, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Nothing more to do: the cache is an optimisation.
            }
            return false;
        }
    }

    /// <summary>
    /// The probe through the cache: a cached verdict if there is one (its detail says so), else the probe's, kept
    /// when conclusive. Without a cache, the probe itself.
    /// </summary>
    public static Func<KernelProbeResult> Through(KernelProbeCache? cache, Func<KernelProbeResult> probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (cache is null)
        {
            return probe;
        }
        return () =>
        {
            if (cache.TryRead() is { } cached)
            {
                return cached with { Detail = $"{cached.Detail}; cached in {cache.FilePath}" };
            }
            var result = probe();
            cache.TryWrite(result);
            return result;
        };
    }

    private sealed record Entry(string? Key, bool Passed, string? Detail, DateTimeOffset Written);
}
