using System.Text.Json.Nodes;

namespace KubeEmulator.Api;

/// <summary>One served resource at one group/version: what discovery lists and what the handlers dispatch on.</summary>
internal sealed record ResourceType
{
    public static readonly string[] AllVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    public required string Group { get; init; }
    public required string Version { get; init; }
    public required string Resource { get; init; }
    public required string Kind { get; init; }
    public required bool Namespaced { get; init; }
    public string Singular { get; init; } = "";
    public IReadOnlyList<string> ShortNames { get; init; } = [];
    public IReadOnlyList<string> Categories { get; init; } = [];
    public IReadOnlyList<string> Verbs { get; init; } = AllVerbs;
    public bool HasStatus { get; init; }

    /// <summary>Types whose generation counts spec changes (all custom resources, and built-ins with a spec).</summary>
    public bool TracksGeneration { get; init; }

    /// <summary>Set for the resources a CustomResourceDefinition serves.</summary>
    public CustomResourceInfo? Custom { get; init; }

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";
    public string GroupVersion => ApiVersion;
    public string ListKind => Kind + "List";

    /// <summary>The storage key: version-independent, like etcd's /registry/&lt;group&gt;/&lt;resource&gt;.</summary>
    public string GroupResource => Group.Length == 0 ? Resource : $"{Resource}.{Group}";
}

/// <summary>What a CRD version adds: its schema and printer columns, and whether it is the storage version.</summary>
internal sealed record CustomResourceInfo(string CrdName, JsonObject? Schema, IReadOnlyList<PrinterColumn> Columns, bool Storage, string? ScaleSpecPath);

internal sealed record PrinterColumn(string Name, string Type, string? Format, string Description, int Priority, string JsonPath);
