using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeEmulator.Api;
using KubeEmulator.Hosting;

namespace KubeEmulator.KubeletRuntime;

/// <summary>
/// How one container becomes a local process: argv from the ImageMap (entrypoint) or the container's command, plus
/// args; $(VAR) expansion; env with valueFrom/envFrom; paths under a mountPath rewritten to the host directory; the
/// API's address and credentials in the environment. See docs/emulator.md ("What a pod process gets").
/// </summary>
internal static partial class ContainerLaunch
{
    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\$")]
    private static partial Regex VarRef();

    [GeneratedRegex("[^A-Za-z0-9]+")]
    private static partial Regex NonAlnum();

    public const string SetSid = "/usr/bin/setsid";

    public static ProcessStartInfo Build(ApiServerCore core, JsonObject pod, JsonObject container, PodSandbox sandbox, Uri api, string logDir)
    {
        var image = Json.Str(container, "image") ?? "";
        var entrypoint = ResolveImage(core.Options, image);
        var mounts = sandbox.MountsFor(container);
        var env = BuildEnv(core, pod, container, sandbox, api, mounts);
        var command = Json.Strings(container["command"]).ToList();
        var args = Json.Strings(container["args"]).ToList();
        var argv = (command.Count > 0 ? command : entrypoint).Concat(args).Select(a => Rewrite(Expand(a, env), mounts)).ToList();
        if (argv.Count == 0)
        {
            throw new ContainerConfigException("CreateContainerConfigError", $"image \"{image}\" maps to an empty command line");
        }
        // Each container gets its own process group (setsid execs in place, so the pid stays the container's):
        // when its main process ends, whatever it left behind is killed with the group, as a container's PID
        // namespace would be.
        var grouped = File.Exists(SetSid);
        var psi = new ProcessStartInfo(grouped ? SetSid : argv[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in grouped ? argv : argv.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment.Clear();
        foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables())
        {
            // A container does not inherit its host's environment, but a local process needs PATH, HOME, DOTNET_ROOT...
            psi.Environment[(string)kv.Key] = (string?)kv.Value;
        }
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }
        var workingDir = Json.Str(container, "workingDir");
        if (string.IsNullOrEmpty(workingDir))
        {
            workingDir = Path.Combine(sandbox.Dir, "containers", Json.Str(container, "name") ?? "c");
            Directory.CreateDirectory(workingDir);
        }
        else
        {
            var mapped = Rewrite(workingDir, mounts);
            if (mapped == workingDir && !Directory.Exists(workingDir))
            {
                mapped = Path.Combine(sandbox.Dir, "containers", Json.Str(container, "name") ?? "c", workingDir.TrimStart('/'));
            }
            Directory.CreateDirectory(mapped);
            workingDir = mapped;
        }
        psi.WorkingDirectory = workingDir;
        Directory.CreateDirectory(logDir);
        return psi;
    }

    /// <summary>The image's entrypoint: an exact ImageMap key, else the image name without tag or digest.</summary>
    public static List<string> ResolveImage(EmulatorOptions options, string image)
    {
        if (!options.ImageMap.TryGetValue(image, out var line))
        {
            var bare = image.Split('@')[0];
            var colon = bare.LastIndexOf(':');
            if (colon > bare.LastIndexOf('/'))
            {
                bare = bare[..colon];
            }
            if (!options.ImageMap.TryGetValue(bare, out line))
            {
                throw new ContainerConfigException("ErrImagePull", $"image \"{image}\" is not in the emulator's ImageMap (known: {string.Join(", ", options.ImageMap.Keys)})");
            }
        }
        try
        {
            return CommandLineWords.Split(line);
        }
        catch (FormatException e)
        {
            throw new ContainerConfigException("ErrImagePull", $"ImageMap entry for \"{image}\": {e.Message}");
        }
    }

    private static Dictionary<string, string> BuildEnv(ApiServerCore core, JsonObject pod, JsonObject container, PodSandbox sandbox, Uri api, List<HostMount> mounts)
    {
        var ns = Json.Str(pod, "metadata", "namespace")!;
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["HOSTNAME"] = Json.Str(pod, "spec", "hostname") is { Length: > 0 } hostname ? hostname : PodSandbox.Hostname(Json.Str(pod, "metadata", "name")!),
            ["KUBERNETES_SERVICE_HOST"] = api.Host,
            ["KUBERNETES_SERVICE_PORT"] = api.Port.ToString(CultureInfo.InvariantCulture),
            ["KUBERNETES_SERVICE_PORT_HTTPS"] = api.Port.ToString(CultureInfo.InvariantCulture),
            ["BIT_KUBE_API"] = api.ToString().TrimEnd('/'),
            ["BIT_KUBE_NAMESPACE"] = ns,
            ["BIT_POD_NAME"] = Json.Str(pod, "metadata", "name")!,
            ["KUBE_EMULATOR_POD_DIR"] = sandbox.Dir,
            ["KUBE_EMULATOR_MOUNTS"] = string.Join(";", mounts.Select(m => $"{m.MountPath}={m.HostPath}")),
        };
        if (sandbox.TokenDir is not null)
        {
            env["BIT_KUBE_TOKEN_FILE"] = Path.Combine(sandbox.TokenDir, "token");
            env["BIT_KUBE_CA_FILE"] = Path.Combine(sandbox.TokenDir, "ca.crt");
            env["KUBECONFIG"] = sandbox.KubeconfigPath!;
        }
        foreach (var m in mounts)
        {
            env["KUBE_EMULATOR_MOUNT_" + NonAlnum().Replace(m.MountPath, "_").Trim('_').ToUpperInvariant()] = m.HostPath;
        }
        foreach (var from in (container["envFrom"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var prefix = Json.Str(from, "prefix") ?? "";
            var data = from["configMapRef"] is JsonObject cmr ? PodSandbox.ConfigMapData(core, ns, cmr, Json.Str(cmr, "name") ?? "")
                : from["secretRef"] is JsonObject sr ? PodSandbox.SecretData(core, ns, sr, Json.Str(sr, "name") ?? "")
                : [];
            foreach (var (k, v) in data)
            {
                env[prefix + k] = Encoding.UTF8.GetString(v);
            }
        }
        foreach (var e in (container["env"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var name = Json.Str(e, "name") ?? "";
            if (e["valueFrom"] is JsonObject vf)
            {
                env[name] = Rewrite(ValueFrom(core, pod, container, ns, vf), mounts);
            }
            else
            {
                env[name] = Rewrite(Expand(Json.Str(e, "value") ?? "", env), mounts);
            }
        }
        foreach (var (name, value) in env.ToList())
        {
            if (IsClusterAddress(core, ns, value))
            {
                env[name] = "127.0.0.1";
            }
        }
        return env;
    }

    /// <summary>
    /// There is no cluster DNS, and every pod's IP is 127.0.0.1: an env value that is the DNS name of one of this
    /// cluster's Services (<c>SVC.NS</c>, <c>SVC.NS.svc</c>, <c>SVC.NS.svc.cluster.local</c>) or of a pod under a
    /// headless Service (<c>HOSTNAME.SUBDOMAIN</c>, then the same suffixes) is what it would resolve to: 127.0.0.1.
    /// A name of one label, or one that names nothing in the store, is left alone.
    /// </summary>
    internal static bool IsClusterAddress(ApiServerCore core, string podNamespace, string value)
    {
        if (value.Length is 0 or > 253 || !value.Contains('.', StringComparison.Ordinal) || value.Any(ch => !(char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch is '-' or '.')))
        {
            return false;
        }
        var name = value.EndsWith(".svc.cluster.local", StringComparison.Ordinal) ? value[..^".svc.cluster.local".Length]
            : value.EndsWith(".svc", StringComparison.Ordinal) ? value[..^".svc".Length]
            : value;
        var qualified = name.Length != value.Length;
        var labels = name.Split('.');
        lock (core.Store.Sync)
        {
            bool Service(string ns, string svc) => core.Store.Get("services", ns, svc) is not null;
            bool Pod(string ns, string host, string subdomain) => Service(ns, subdomain)
                && core.Store.List("pods", ns).Any(p => Json.Str(p.Value, "spec", "hostname") == host && Json.Str(p.Value, "spec", "subdomain") == subdomain);
            return labels.Length switch
            {
                // SVC.NS (or, unqualified, HOSTNAME.SUBDOMAIN in the pod's own namespace).
                2 => Service(labels[1], labels[0]) || (!qualified && Pod(podNamespace, labels[0], labels[1])),
                3 => Pod(labels[2], labels[0], labels[1]),
                _ => false,
            };
        }
    }

    private static string ValueFrom(ApiServerCore core, JsonObject pod, JsonObject container, string ns, JsonObject vf)
    {
        if (vf["configMapKeyRef"] is JsonObject cmk)
        {
            var data = PodSandbox.ConfigMapData(core, ns, cmk, Json.Str(cmk, "name") ?? "");
            var key = Json.Str(cmk, "key") ?? "";
            return data.TryGetValue(key, out var v) ? Encoding.UTF8.GetString(v)
                : Json.At(cmk, "optional") is JsonValue o && o.GetValue<bool>() ? ""
                : throw new ContainerConfigException("CreateContainerConfigError", $"couldn't find key {key} in ConfigMap {ns}/{Json.Str(cmk, "name")}");
        }
        if (vf["secretKeyRef"] is JsonObject sk)
        {
            var data = PodSandbox.SecretData(core, ns, sk, Json.Str(sk, "name") ?? "");
            var key = Json.Str(sk, "key") ?? "";
            return data.TryGetValue(key, out var v) ? Encoding.UTF8.GetString(v)
                : Json.At(sk, "optional") is JsonValue o && o.GetValue<bool>() ? ""
                : throw new ContainerConfigException("CreateContainerConfigError", $"couldn't find key {key} in Secret {ns}/{Json.Str(sk, "name")}");
        }
        if (vf["fieldRef"] is JsonObject fr)
        {
            var path = Json.Str(fr, "fieldPath") ?? "";
            var labelOrAnnotation = Regex.Match(path, @"^metadata\.(labels|annotations)\['(.+)'\]$", RegexOptions.None, TimeSpan.FromSeconds(1));
            if (labelOrAnnotation.Success)
            {
                return Json.Str(pod, "metadata", labelOrAnnotation.Groups[1].Value, labelOrAnnotation.Groups[2].Value) ?? "";
            }
            return path switch
            {
                "status.podIP" or "status.hostIP" => "127.0.0.1",
                "status.podIPs" or "status.hostIPs" => "127.0.0.1",
                _ => Json.Str(pod, path.Split('.')) ?? "",
            };
        }
        if (vf["resourceFieldRef"] is JsonObject rf)
        {
            var resource = Json.Str(rf, "resource") ?? "";
            var parts = resource.Split('.', 2);
            return parts.Length == 2 ? Json.Str(container, "resources", parts[0], parts[1]) ?? "0" : "0";
        }
        return "";
    }

    /// <summary>Kubernetes' $(VAR) expansion: defined variables expand, $$ escapes, unknown references stay as written.</summary>
    public static string Expand(string s, IReadOnlyDictionary<string, string> env) =>
        VarRef().Replace(s, m => m.Value == "$$" ? "$" : env.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);

    /// <summary>
    /// Maps container paths under a mountPath to the host path wherever they appear as a path token: the whole
    /// value, after '=' (--flag=/path), or inside a script (preceded by a space, quote, '=', ':' or '(' and followed
    /// by '/', the end, a space, a quote, ';', ':' or ')'). Longer mount paths win. One pass: a host path put in
    /// is never rewritten again (so a mount at /tmp leaves host paths under /tmp alone).
    /// </summary>
    public static string Rewrite(string value, IReadOnlyList<HostMount> mounts)
    {
        var byPath = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var m in mounts)
        {
            var mp = m.MountPath.TrimEnd('/');
            if (mp.Length > 0 && value.Contains(mp, StringComparison.Ordinal))
            {
                byPath.TryAdd(mp, m.HostPath);
            }
        }
        if (byPath.Count == 0)
        {
            return value;
        }
        var alternatives = string.Join("|", byPath.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape));
        var pattern = @"(?<=^|[\s='""(:])(?:" + alternatives + @")(?=$|[/\s'"";:)])";
        return Regex.Replace(value, pattern, m => byPath[m.Value], RegexOptions.None, TimeSpan.FromSeconds(1));
    }
}
