using System.Collections.Concurrent;

namespace BiT.Operator.Runtime;

/// <summary>
/// One shared instance of each of the few strings that every cached object repeats (namespaces, API versions, kinds,
/// phases, condition types, label keys): 5,000 jobs and pods otherwise hold 5,000 copies of each. Only for strings
/// of small, bounded variety; past <see cref="Capacity"/> distinct strings it stops adding and returns its input, so
/// a mistaken use can cost a few hundred KiB but never grow without bound.
/// </summary>
public static class StringPool
{
    public const int Capacity = 4096;

    private static readonly ConcurrentDictionary<string, string> Pool = new(StringComparer.Ordinal);

    /// <summary>Distinct strings held.</summary>
    public static int Count => Pool.Count;

    public static string? Intern(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (Pool.TryGetValue(value, out var shared))
        {
            return shared;
        }

        return Pool.Count < Capacity ? Pool.GetOrAdd(value, value) : value;
    }
}
