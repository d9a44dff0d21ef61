namespace BiT.Contracts.Crds;

/// <summary>One generated CustomResourceDefinition.</summary>
/// <param name="Name">metadata.name (plural.group).</param>
/// <param name="FileName">File name under crds/.</param>
/// <param name="Yaml">The YAML text.</param>
public sealed record CrdDocument(string Name, string FileName, string Yaml);
