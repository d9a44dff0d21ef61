namespace KubeEmulator.Api;

/// <summary>The served resources: the built-ins plus whatever established CRDs add. Safe for concurrent readers.</summary>
internal sealed class ResourceRegistry
{
    private readonly Lock _lock = new();
    private Dictionary<(string Group, string Version, string Resource), ResourceType> _byPath = [];
    private List<ResourceType> _all = [];

    public ResourceRegistry(IEnumerable<ResourceType> builtins)
    {
        foreach (var t in builtins)
        {
            Add(t);
        }
    }

    public IReadOnlyList<ResourceType> All
    {
        get
        {
            lock (_lock)
            {
                return _all;
            }
        }
    }

    public ResourceType? Find(string group, string version, string resource)
    {
        lock (_lock)
        {
            return _byPath.GetValueOrDefault((group, version, resource));
        }
    }

    public ResourceType? FindKind(string apiVersion, string kind)
    {
        var (g, v) = SplitApiVersion(apiVersion);
        lock (_lock)
        {
            return _all.FirstOrDefault(t => t.Group == g && t.Version == v && t.Kind == kind);
        }
    }

    /// <summary>Any version of the group resource, preferring the storage version: GC and namespaces need one per storage key.</summary>
    public ResourceType? FindGroupResource(string groupResource)
    {
        lock (_lock)
        {
            var all = _all.Where(t => t.GroupResource == groupResource).ToList();
            return all.FirstOrDefault(t => t.Custom?.Storage ?? true) ?? all.FirstOrDefault();
        }
    }

    public IReadOnlyList<string> GroupResources()
    {
        lock (_lock)
        {
            return _all.Select(t => t.GroupResource).Distinct().ToList();
        }
    }

    public void Add(ResourceType t)
    {
        lock (_lock)
        {
            var byPath = new Dictionary<(string, string, string), ResourceType>(_byPath) { [(t.Group, t.Version, t.Resource)] = t };
            _byPath = byPath;
            _all = [.. _all.Where(x => !(x.Group == t.Group && x.Version == t.Version && x.Resource == t.Resource)), t];
        }
    }

    public void RemoveCrd(string crdName)
    {
        lock (_lock)
        {
            _all = _all.Where(t => t.Custom?.CrdName != crdName).ToList();
            _byPath = _all.ToDictionary(t => (t.Group, t.Version, t.Resource));
        }
    }

    public static (string Group, string Version) SplitApiVersion(string apiVersion)
    {
        var i = apiVersion.IndexOf('/', StringComparison.Ordinal);
        return i < 0 ? ("", apiVersion) : (apiVersion[..i], apiVersion[(i + 1)..]);
    }
}
