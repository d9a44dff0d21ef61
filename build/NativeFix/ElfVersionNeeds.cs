// Reads and edits the symbol-version tables of ELF64 little-endian shared libraries.
//
// Why this exists: TorchSharp 0.107.0's native glue (libLibTorchSharp.so) was linked against GCC 13's libstdc++
// and so lists GLIBCXX_3.4.32 among its version needs, for the single symbol _ZSt21ios_base_library_initv. That
// symbol only forces the iostream initialisation object to be linked in; nothing calls it. Debian 12 ships
// libstdc++ up to GLIBCXX_3.4.30, so the dynamic loader refuses the library ("GLIBCXX_3.4.32 not found").
// glibc's loader treats a version need whose vna_flags carry VER_FLG_WEAK as optional: a missing weak version is
// not an error. Marking that one entry weak in the build output's copy makes TorchSharp load on Debian 12.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory (build/NativeFix/NativeFix.targets) as part of
// every build that copies libLibTorchSharp.so, and by the model tests, which exercise it on real and synthetic ELF
// files. MSBuild compiles inline tasks against .NET Standard 2.0, so it uses nothing newer (no records, spans or init).
// It holds the MSBuild task as well as the parser because RoslynCodeTaskFactory compiles a single source file.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;

#pragma warning disable CA1510 // ArgumentNullException.ThrowIfNull is not in .NET Standard 2.0.
#pragma warning disable IDE0130 // Namespace does not match folder structure: the file is shared with MSBuild.
namespace BiT.Build.NativeFix;
#pragma warning restore IDE0130

/// <summary>One entry of a library's version needs: which file provides it, its name and whether it is weak.</summary>
public sealed class ElfVersionNeed
{
    /// <summary>Creates an entry.</summary>
    public ElfVersionNeed(string file, string version, bool weak, long flagsOffset)
    {
        File = file;
        Version = version;
        Weak = weak;
        FlagsOffset = flagsOffset;
    }

    /// <summary>The library that must provide the version, for example libstdc++.so.6.</summary>
    public string File { get; }

    /// <summary>The version name, for example GLIBCXX_3.4.32.</summary>
    public string Version { get; }

    /// <summary>Whether VER_FLG_WEAK is set.</summary>
    public bool Weak { get; }

    /// <summary>File offset of the entry's vna_flags.</summary>
    public long FlagsOffset { get; }
}

/// <summary>Parses and patches the GNU symbol-versioning sections of ELF64 little-endian files.</summary>
public static class ElfVersionNeeds
{
    /// <summary>VER_FLG_WEAK: the loader tolerates the absence of this version.</summary>
    public const ushort VerFlagWeak = 0x2;

    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary>Lists the version needs (.gnu.version_r) of an ELF file.</summary>
    public static IReadOnlyList<ElfVersionNeed> ReadNeeds(byte[] elf)
    {
        if (elf == null)
        {
            throw new ArgumentNullException(nameof(elf));
        }

        var needs = new List<ElfVersionNeed>();
        foreach (var section in Sections(elf))
        {
            if (section.Type != ShtGnuVerneed)
            {
                continue;
            }

            var strtab = Sections(elf)[(int)section.Link];
            long entry = section.Offset;
            for (uint i = 0; i < section.Info; i++)
            {
                ushort count = U16(elf, entry + 2);
                string file = CString(elf, strtab.Offset + U32(elf, entry + 4));
                long aux = entry + U32(elf, entry + 8);
                for (ushort j = 0; j < count; j++)
                {
                    ushort flags = U16(elf, aux + 4);
                    string name = CString(elf, strtab.Offset + U32(elf, aux + 8));
                    needs.Add(new ElfVersionNeed(file, name, (flags & VerFlagWeak) != 0, aux + 4));
                    uint nextAux = U32(elf, aux + 12);
                    if (nextAux == 0)
                    {
                        break;
                    }

                    aux += nextAux;
                }

                uint next = U32(elf, entry + 12);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }
        }

        return needs;
    }

    /// <summary>Lists the versions an ELF library defines (.gnu.version_d), for example GLIBCXX_3.4.30.</summary>
    public static ISet<string> ReadDefinitions(byte[] elf)
    {
        if (elf == null)
        {
            throw new ArgumentNullException(nameof(elf));
        }

        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var section in Sections(elf))
        {
            if (section.Type != ShtGnuVerdef)
            {
                continue;
            }

            var strtab = Sections(elf)[(int)section.Link];
            long entry = section.Offset;
            for (uint i = 0; i < section.Info; i++)
            {
                long aux = entry + U32(elf, entry + 12);
                defined.Add(CString(elf, strtab.Offset + U32(elf, aux)));
                uint next = U32(elf, entry + 16);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }
        }

        return defined;
    }

    /// <summary>
    /// Marks weak every need of <paramref name="versions"/> that <paramref name="available"/> does not define.
    /// Returns the versions that were changed (empty when nothing needed changing: the edit is idempotent).
    /// </summary>
    public static IReadOnlyList<string> WeakenMissing(byte[] elf, IEnumerable<string> versions, ISet<string> available)
    {
        if (available == null)
        {
            throw new ArgumentNullException(nameof(available));
        }

        var wanted = new HashSet<string>(versions, StringComparer.Ordinal);
        var changed = new List<string>();
        foreach (var need in ReadNeeds(elf))
        {
            if (!wanted.Contains(need.Version) || available.Contains(need.Version) || need.Weak)
            {
                continue;
            }

            ushort flags = (ushort)(U16(elf, need.FlagsOffset) | VerFlagWeak);
            elf[need.FlagsOffset] = (byte)(flags & 0xff);
            elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
            changed.Add(need.Version);
        }

        return changed;
    }

    /// <summary>
    /// Patches <paramref name="libraryPath"/> in place (write to a temporary file, then rename) so that the versions
    /// in <paramref name="versions"/> it needs but the system library at <paramref name="systemLibraryPath"/> lacks
    /// become weak. Returns the versions changed.
    /// </summary>
    public static IReadOnlyList<string> PatchFile(string libraryPath, string systemLibraryPath, IEnumerable<string> versions)
    {
        var available = ReadDefinitions(File.ReadAllBytes(systemLibraryPath));
        byte[] elf = File.ReadAllBytes(libraryPath);
        var changed = WeakenMissing(elf, versions, available);
        if (changed.Count == 0)
        {
            return changed;
        }

        // A running process may have the old file mapped: replace it by rename, never by rewriting its pages.
        string temp = libraryPath + ".weakened.tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(elf, 0, elf.Length);
            stream.Flush(flushToDisk: true);
        }

        File.Replace(temp, libraryPath, destinationBackupFileName: null);
        return changed;
    }

    /// <summary>Finds the system's copy of a shared library (for example libstdc++.so.6) in the usual directories.</summary>
    public static string? FindSystemLibrary(string soname)
    {
        string[] dirs = new[]
        {
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/lib64", "/usr/lib64", "/lib", "/usr/lib",
        };
        return dirs.Select(d => Path.Combine(d, soname)).FirstOrDefault(File.Exists);
    }

    private struct Section
    {
        public uint Type;
        public long Offset;
        public uint Link;
        public uint Info;
    }

    private static List<Section> Sections(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        {
            throw new InvalidDataException("not an ELF file");
        }

        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
        }

        long shoff = (long)U64(elf, 0x28);
        ushort shentsize = U16(elf, 0x3A);
        ushort shnum = U16(elf, 0x3C);
        if (shoff <= 0 || shentsize < 64 || shoff + ((long)shnum * shentsize) > elf.Length)
        {
            throw new InvalidDataException("ELF section header table is missing or truncated");
        }

        var sections = new List<Section>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + ((long)i * shentsize);
            sections.Add(new Section { Type = U32(elf, h + 4), Offset = (long)U64(elf, h + 24), Link = U32(elf, h + 40), Info = U32(elf, h + 44) });
        }

        return sections;
    }

    private static ushort U16(byte[] b, long at) => (ushort)Read(b, at, 2);

    private static uint U32(byte[] b, long at) => (uint)Read(b, at, 4);

    private static ulong U64(byte[] b, long at) => Read(b, at, 8);

    // Little-endian read, independent of the host's byte order.
    private static ulong Read(byte[] b, long at, int length)
    {
        if (at < 0 || at + length > b.Length)
        {
            throw new InvalidDataException($"ELF structure points outside the file (offset {at})");
        }

        ulong value = 0;
        for (int i = length - 1; i >= 0; i--)
        {
            value = (value << 8) | b[at + i];
        }

        return value;
    }

    private static string CString(byte[] b, long at)
    {
        int start = (int)at;
        int end = start >= 0 && start < b.Length ? Array.IndexOf(b, (byte)0, start) : -1;
        if (end < 0)
        {
            throw new InvalidDataException($"ELF string at offset {at} is not terminated");
        }

        return Encoding.ASCII.GetString(b, start, end - start);
    }
}

/// <summary>
/// MSBuild task: weakens the listed version needs of each library that the system's copy of
/// <see cref="SystemLibrary"/> lacks. Does nothing (and says so) where the system library has them, or off Linux.
/// </summary>
public sealed class WeakenMissingVersionNeeds : Microsoft.Build.Utilities.Task
{
    /// <summary>The libraries to patch; missing files are ignored.</summary>
    [Required]
    public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Semicolon-separated versions that may be weakened, for example GLIBCXX_3.4.32.</summary>
    [Required]
    public string Versions { get; set; } = string.Empty;

    /// <summary>The soname of the system library that provides the versions.</summary>
    public string SystemLibrary { get; set; } = "libstdc++.so.6";

    /// <summary>An explicit path to the system library; found in the usual directories when empty.</summary>
    public string SystemLibraryPath { get; set; } = string.Empty;

    /// <inheritdoc />
    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            return true;
        }

        string? system = string.IsNullOrEmpty(SystemLibraryPath) ? ElfVersionNeeds.FindSystemLibrary(SystemLibrary) : SystemLibraryPath;
        if (system is null || !File.Exists(system))
        {
            Log.LogMessage(MessageImportance.Low, $"NativeFix: no system {SystemLibrary} found; nothing to do.");
            return true;
        }

        var versions = Versions.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries).Select(v => v.Trim()).ToArray();
        foreach (var item in Libraries)
        {
            string path = item.ItemSpec;
            if (!File.Exists(path))
            {
                continue;
            }

            try
            {
                var changed = ElfVersionNeeds.PatchFile(path, system, versions);
                if (changed.Count > 0)
                {
                    Log.LogMessage(MessageImportance.High, $"NativeFix: {system} lacks {string.Join(", ", changed)}; marked weak in {path}");
                }
            }
            catch (InvalidDataException e)
            {
                Log.LogError($"NativeFix: cannot patch {path}: {e.Message}");
            }
        }

        return !Log.HasLoggedErrors;
    }
}
