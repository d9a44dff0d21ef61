using System.Runtime.InteropServices;
using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace BiT.Operator.Hosting;

/// <summary>Finds the API server: --kubeconfig, else in-cluster, else KUBECONFIG or ~/.kube/config.</summary>
/// <remarks>
/// A kubeconfig file is read by <see cref="ReadKubeConfig"/>, not by the client library's loader: that goes through
/// <c>KubernetesYaml</c>, whose static state reflects over every one of the library's ~800 model types and keeps
/// the result for the life of the process (about 10 MiB resident in a long-running operator; docs/benchmarks.md).
/// The file is mapped onto the library's own <see cref="K8SConfiguration"/> and handed to
/// <see cref="KubernetesClientConfiguration.BuildConfigFromConfigObject"/>, so what the file means (TLS, tokens,
/// client certificates, exec plugins, relative paths) is still decided by the library.
/// </remarks>
public static class ClientConfig
{
    private static readonly IDeserializer KubeConfigYaml = new DeserializerBuilder()
        .IgnoreUnmatchedProperties()
        .WithAttemptingUnquotedStringTypeDeserialization() // as the library: `true` in preferences or extensions is a bool
        .Build();

    public static KubernetesClientConfiguration Load(string? kubeconfig, string? context)
    {
        try
        {
            if (kubeconfig is not null)
            {
                return FromFiles([kubeconfig], context, "--kubeconfig");
            }

            if (KubernetesClientConfiguration.IsInCluster())
            {
                return KubernetesClientConfiguration.InClusterConfig();
            }

            return FromKubeConfigVariable(Environment.GetEnvironmentVariable("KUBECONFIG"), context);
        }
        catch (KubeConfigException ex)
        {
            throw new ConfigurationException($"cannot load the Kubernetes configuration: {ex.Message}", ex);
        }
    }

    /// <summary>The files a KUBECONFIG value lists (merged), or ~/.kube/config when it is unset or empty.</summary>
    internal static KubernetesClientConfiguration FromKubeConfigVariable(string? variable, string? context)
    {
        if (variable is { Length: > 0 })
        {
            var separator = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? ';' : ':';
            var files = variable.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(f => f.Trim('"')).ToList();
            return FromFiles(files, context, "KUBECONFIG");
        }

        return FromFiles([KubernetesClientConfiguration.KubeConfigDefaultLocation], context, "the default kubeconfig");
    }

    private static KubernetesClientConfiguration FromFiles(IReadOnlyList<string> files, string? context, string source)
    {
        var configs = new List<K8SConfiguration>();
        foreach (var file in files)
        {
            if (!File.Exists(file))
            {
                // kubectl skips missing KUBECONFIG entries; an explicit --kubeconfig must exist.
                if (source == "KUBECONFIG")
                {
                    continue;
                }

                throw new ConfigurationException($"{source}: file '{file}' does not exist");
            }

            configs.Add(ReadKubeConfig(file));
        }

        if (configs.Count == 0)
        {
            throw new ConfigurationException($"{source}: none of the files '{string.Join("', '", files)}' exists");
        }

        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigObject(Merge(configs), context);
        }
        catch (KubeConfigException ex)
        {
            throw new ConfigurationException($"cannot load the Kubernetes configuration: {ex.Message}", ex);
        }
    }

    /// <summary>One kubeconfig file as the library's model; relative paths in it resolve against its directory.</summary>
    public static K8SConfiguration ReadKubeConfig(string file)
    {
        var full = Path.GetFullPath(file);
        K8SConfiguration? config;
        try
        {
            config = KubeConfigYaml.Deserialize<K8SConfiguration>(File.ReadAllText(full));
        }
        catch (YamlException ex)
        {
            throw new ConfigurationException($"kubeconfig '{full}' is not valid: {ex.Message}", ex);
        }

        config ??= new K8SConfiguration();
        config.FileName = full;
        config.Contexts ??= [];
        config.Clusters ??= [];
        config.Users ??= [];
        return config;
    }

    /// <summary>
    /// Several files merged as kubectl does: the first file that names a context, cluster or user wins, and so does
    /// the first current-context. Each entry keeps the file it came from only through absolute paths, so relative
    /// paths are resolved against their own file here.
    /// </summary>
    private static K8SConfiguration Merge(List<K8SConfiguration> configs)
    {
        if (configs.Count == 1)
        {
            return configs[0];
        }

        var contexts = new List<Context>();
        var clusters = new List<Cluster>();
        var users = new List<User>();
        foreach (var config in configs)
        {
            var dir = Path.GetDirectoryName(config.FileName) ?? ".";
            string? Abs(string? path) => string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(dir, path));
            contexts.AddRange(config.Contexts.Where(c => contexts.TrueForAll(m => m.Name != c.Name)).ToList());
            foreach (var cluster in config.Clusters.Where(c => clusters.TrueForAll(m => m.Name != c.Name)).ToList())
            {
                cluster.ClusterEndpoint?.CertificateAuthority = Abs(cluster.ClusterEndpoint.CertificateAuthority);
                clusters.Add(cluster);
            }

            foreach (var user in config.Users.Where(u => users.TrueForAll(m => m.Name != u.Name)).ToList())
            {
                if (user.UserCredentials is { } creds)
                {
                    creds.ClientCertificate = Abs(creds.ClientCertificate);
                    creds.ClientKey = Abs(creds.ClientKey);
                }

                users.Add(user);
            }
        }

        var merged = new K8SConfiguration
        {
            FileName = configs[0].FileName,
            CurrentContext = configs.Select(c => c.CurrentContext).FirstOrDefault(c => !string.IsNullOrEmpty(c)),
            Contexts = contexts,
            Clusters = clusters,
            Users = users,
        };
        return merged;
    }
}

/// <summary>The cluster connection could not be configured; the message says which file or setting.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException()
    {
    }

    public ConfigurationException(string message) : base(message)
    {
    }

    public ConfigurationException(string message, Exception inner) : base(message, inner)
    {
    }
}
