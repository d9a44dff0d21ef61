using System.Collections.Concurrent;

namespace BiT.Operator.Runtime;

/// <summary>
/// One shared instance of each of the few strings that every cached object repeats (namespaces, API versions, kinds,
/// phases, condition types, label keys): 5,000 jobs and pods otherwise hold 5,000 copies of each. Only for strings
/// of small, bounded variety; past its capacity in distinct strings it stops adding and returns its input, so
/// a mistaken use can cost a few hundred KiB but never grow without bound.
/// </summary>
public sealed class StringPool(int capacity)
{
    private readonly ConcurrentDictionary<string, string> _pool = new(StringComparer.Ordinal);

    /// <summary>The pool of the informers' caches.</summary>
    public static StringPool Shared { get; } = new(4096);

    public int Capacity => capacity;

    /// <summary>Distinct strings held.</summary>
    public int Count => _pool.Count;

    public string? Intern(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (_pool.TryGetValue(value, out var shared))
        {
            return shared;
        }

        return _pool.Count < capacity ? _pool.GetOrAdd(value, value) : value;
    }
}
