using System.Text;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Hosting;

namespace KubeEmulator.KubeletRuntime;

/// <summary>A volume mount resolved to a host directory or file.</summary>
internal sealed record HostMount(string MountPath, string HostPath, bool ReadOnly);

/// <summary>Thrown when a container cannot be configured (missing ConfigMap/Secret key, unknown image): a waiting reason.</summary>
internal sealed class ContainerConfigException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;
}

/// <summary>
/// A pod's host-side world: its directory under StateDir, its volumes as host directories (ConfigMap/Secret as
/// files, emptyDir, PVCs as directories that outlive the pod, the projected ServiceAccount token), and a kubeconfig.
/// </summary>
internal sealed class PodSandbox
{
    public const string ServiceAccountMount = "/var/run/secrets/kubernetes.io/serviceaccount";

    private PodSandbox(string dir, List<HostMount> podVolumes, Dictionary<string, List<string>> textFiles, string? tokenDir, string? kubeconfig)
    {
        Dir = dir;
        _textFiles = textFiles;
        Volumes = podVolumes;
        TokenDir = tokenDir;
        KubeconfigPath = kubeconfig;
    }

    // ConfigMap `data` keys written as files, by volume name: the texts whose mount paths are rewritten per container.
    private readonly Dictionary<string, List<string>> _textFiles;

    public string Dir { get; }

    /// <summary>Pod volumes by name -> host path (as HostMount with MountPath = volume name).</summary>
    public List<HostMount> Volumes { get; }

    public string? TokenDir { get; }
    public string? KubeconfigPath { get; }

    public static string PvcDir(string stateDir, string ns, string claim) => Path.Combine(stateDir, "pvcs", ns, claim);

    /// <summary>
    /// The directory name of a pod's state and logs: <c>NAMESPACE_NAME_UID8</c>, or, when that would pass the file
    /// system's 255-byte limit on one path component (a pod name may be 253 characters), the name cut short and
    /// followed by a hash of the whole name, so that such a pod still runs and can be deleted.
    /// </summary>
    public static string DirName(string ns, string name, string uid)
    {
        var full = $"{ns}_{name}_{uid[..8]}";
        if (System.Text.Encoding.UTF8.GetByteCount(full) <= 255)
        {
            return full;
        }

        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..12];
        return $"{ns}_{name[..Math.Min(name.Length, 100)]}-{hash}_{uid[..8]}";
    }

    /// <summary>The hostname a pod gets: its name, cut to 63 characters (a label) and without a trailing '-' or '.', as the kubelet does.</summary>
    public static string Hostname(string name) => name.Length <= 63 ? name : name[..63].TrimEnd('-', '.');

    public static PodSandbox Create(ApiServerCore core, JsonObject pod, string stateDir, Uri api)
    {
        var ns = Json.Str(pod, "metadata", "namespace")!;
        var name = Json.Str(pod, "metadata", "name")!;
        var uid = Json.Str(pod, "metadata", "uid")!;
        var dir = Path.Combine(stateDir, "pods", DirName(ns, name, uid));
        Directory.CreateDirectory(dir);
        var volumes = new List<HostMount>();
        var textFiles = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var v in (Json.At(pod, "spec", "volumes") as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var vname = Json.Str(v, "name") ?? "";
            var vdir = Path.Combine(dir, "volumes", vname);
            if (v["emptyDir"] is JsonObject)
            {
                Directory.CreateDirectory(vdir);
            }
            else if (v["configMap"] is JsonObject cm)
            {
                var texts = new HashSet<string>(StringComparer.Ordinal);
                var written = WriteKeys(vdir, ConfigMapData(core, ns, cm, Json.Str(cm, "name") ?? "", texts), cm["items"] as JsonArray);
                textFiles[vname] = [.. written.Where(w => texts.Contains(w.Key)).Select(w => w.Path)];
            }
            else if (v["secret"] is JsonObject sec)
            {
                WriteKeys(vdir, SecretData(core, ns, sec, Json.Str(sec, "secretName") ?? ""), sec["items"] as JsonArray);
            }
            else if (v["persistentVolumeClaim"] is JsonObject pvc)
            {
                var claim = Json.Str(pvc, "claimName") ?? "";
                lock (core.Store.Sync)
                {
                    if (core.Store.Get("persistentvolumeclaims", ns, claim) is null)
                    {
                        throw new ContainerConfigException("ContainerCreating", $"persistentvolumeclaim \"{claim}\" not found");
                    }
                }
                vdir = PvcDir(stateDir, ns, claim);
                Directory.CreateDirectory(vdir);
            }
            else if (v["hostPath"] is JsonObject hp)
            {
                vdir = Json.Str(hp, "path") ?? vdir;
                Directory.CreateDirectory(vdir);
            }
            else if (v["projected"] is JsonObject projected)
            {
                Directory.CreateDirectory(vdir);
                foreach (var src in (projected["sources"] as JsonArray)?.OfType<JsonObject>() ?? [])
                {
                    if (src["configMap"] is JsonObject pcm)
                    {
                        var texts = new HashSet<string>(StringComparer.Ordinal);
                        var written = WriteKeys(vdir, ConfigMapData(core, ns, pcm, Json.Str(pcm, "name") ?? "", texts), pcm["items"] as JsonArray);
                        (textFiles.TryGetValue(vname, out var list) ? list : textFiles[vname] = []).AddRange(written.Where(w => texts.Contains(w.Key)).Select(w => w.Path));
                    }
                    else if (src["secret"] is JsonObject ps)
                    {
                        WriteKeys(vdir, SecretData(core, ns, ps, Json.Str(ps, "name") ?? ""), ps["items"] as JsonArray);
                    }
                    else if (src["serviceAccountToken"] is JsonObject sat)
                    {
                        var token = core.Tokens.IssueServiceAccount(ns, ServiceAccountName(pod));
                        File.WriteAllText(Path.Combine(vdir, Json.Str(sat, "path") ?? "token"), token);
                    }
                }
            }
            else
            {
                // downwardAPI and the rest: an empty directory (documented gap).
                Directory.CreateDirectory(vdir);
            }
            volumes.Add(new HostMount(vname, vdir, false));
        }

        string? tokenDir = null;
        string? kubeconfig = null;
        var automount = Json.At(pod, "spec", "automountServiceAccountToken") is not JsonValue am || am.GetValue<bool>();
        if (automount)
        {
            tokenDir = Path.Combine(dir, "serviceaccount");
            Directory.CreateDirectory(tokenDir);
            var token = core.Tokens.IssueServiceAccount(ns, ServiceAccountName(pod));
            File.WriteAllText(Path.Combine(tokenDir, "token"), token);
            File.WriteAllText(Path.Combine(tokenDir, "namespace"), ns);
            File.WriteAllText(Path.Combine(tokenDir, "ca.crt"), core.CaPem);
            kubeconfig = Path.Combine(dir, "kubeconfig");
            File.WriteAllText(kubeconfig, $"""
                apiVersion: v1
                kind: Config
                clusters:
                - name: kube-emulator
                  cluster:
                    server: {api.ToString().TrimEnd('/')}
                    certificate-authority: {Path.Combine(tokenDir, "ca.crt")}
                contexts:
                - name: in-pod
                  context:
                    cluster: kube-emulator
                    user: pod
                    namespace: {ns}
                current-context: in-pod
                users:
                - name: pod
                  user:
                    tokenFile: {Path.Combine(tokenDir, "token")}

                """);
        }
        return new PodSandbox(dir, volumes, textFiles, tokenDir, kubeconfig);
    }

    public static string ServiceAccountName(JsonObject pod) => Json.Str(pod, "spec", "serviceAccountName") ?? Json.Str(pod, "spec", "serviceAccount") ?? "default";

    /// <summary>The container's mounts: its volumeMounts (with subPath) and the ServiceAccount token directory.</summary>
    public List<HostMount> MountsFor(JsonObject container)
    {
        var mounts = new List<HostMount>();
        foreach (var m in (container["volumeMounts"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var vol = Volumes.FirstOrDefault(v => v.MountPath == Json.Str(m, "name"))
                ?? throw new ContainerConfigException("CreateContainerConfigError", $"volumeMount \"{Json.Str(m, "name")}\" names no volume of the pod");
            var host = vol.HostPath;
            if (Json.Str(m, "subPath") is { Length: > 0 } sub)
            {
                host = Path.Combine(host, sub);
                if (!File.Exists(host))
                {
                    Directory.CreateDirectory(host);
                }
            }
            var readOnly = Json.At(m, "readOnly") is JsonValue ro && ro.GetValue<bool>();
            mounts.Add(new HostMount(Json.Str(m, "mountPath") ?? "", host, readOnly));
        }
        if (TokenDir is not null && mounts.All(m => m.MountPath != ServiceAccountMount))
        {
            mounts.Add(new HostMount(ServiceAccountMount, TokenDir, true));
        }
        RewriteTextFiles(container, mounts);
        return mounts;
    }

    /// <summary>
    /// A process here sees host paths, not the container's: container paths under this container's mount paths in
    /// the text files of its ConfigMap volumes (a plan naming /checkpoints/x) become host paths, as in args and env.
    /// Binary keys are left alone; a volume shared by two containers with different mounts keeps the first's paths.
    /// </summary>
    private void RewriteTextFiles(JsonObject container, List<HostMount> mounts)
    {
        foreach (var m in (container["volumeMounts"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            if (Json.Str(m, "name") is not { } volume || !_textFiles.TryGetValue(volume, out var files))
            {
                continue;
            }
            foreach (var file in files)
            {
                var text = File.ReadAllText(file);
                var rewritten = ContainerLaunch.Rewrite(text, mounts);
                if (text != rewritten)
                {
                    File.WriteAllText(file, rewritten);
                }
            }
        }
    }

    /// <summary>A ConfigMap's keys as bytes; <paramref name="textKeys"/>, when given, receives the keys from `data`.</summary>
    public static Dictionary<string, byte[]> ConfigMapData(ApiServerCore core, string ns, JsonObject source, string name, ISet<string>? textKeys = null)
    {
        JsonObject? cm;
        lock (core.Store.Sync)
        {
            cm = core.Store.Get("configmaps", ns, name);
        }
        if (cm is null)
        {
            if (Json.At(source, "optional") is JsonValue o && o.GetValue<bool>())
            {
                return [];
            }
            throw new ContainerConfigException("CreateContainerConfigError", $"configmap \"{name}\" not found");
        }
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (k, v) in (cm["data"] as JsonObject) ?? [])
        {
            data[k] = Encoding.UTF8.GetBytes(v?.GetValue<string>() ?? "");
            textKeys?.Add(k);
        }
        foreach (var (k, v) in (cm["binaryData"] as JsonObject) ?? [])
        {
            data[k] = Convert.FromBase64String(v?.GetValue<string>() ?? "");
        }
        return data;
    }

    public static Dictionary<string, byte[]> SecretData(ApiServerCore core, string ns, JsonObject source, string name)
    {
        JsonObject? s;
        lock (core.Store.Sync)
        {
            s = core.Store.Get("secrets", ns, name);
        }
        if (s is null)
        {
            if (Json.At(source, "optional") is JsonValue o && o.GetValue<bool>())
            {
                return [];
            }
            throw new ContainerConfigException("CreateContainerConfigError", $"secret \"{name}\" not found");
        }
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (k, v) in (s["data"] as JsonObject) ?? [])
        {
            data[k] = Convert.FromBase64String(v?.GetValue<string>() ?? "");
        }
        return data;
    }

    /// <summary>Writes the keys (or the listed items) as files; returns each file with the key it holds.</summary>
    private static List<(string Key, string Path)> WriteKeys(string dir, Dictionary<string, byte[]> data, JsonArray? items)
    {
        Directory.CreateDirectory(dir);
        var written = new List<(string Key, string Path)>();
        if (items is null)
        {
            foreach (var (k, v) in data)
            {
                var file = Path.Combine(dir, k);
                File.WriteAllBytes(file, v);
                written.Add((k, file));
            }
            return written;
        }
        foreach (var item in items.OfType<JsonObject>())
        {
            var key = Json.Str(item, "key") ?? "";
            if (!data.TryGetValue(key, out var bytes))
            {
                throw new ContainerConfigException("CreateContainerConfigError", $"couldn't find key {key} in the volume source");
            }
            var path = Path.Combine(dir, Json.Str(item, "path") ?? key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            written.Add((key, path));
        }
        return written;
    }
}
