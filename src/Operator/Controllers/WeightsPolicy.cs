using System.Globalization;
using BiT.Contracts.Pods;
using k8s.Models;

namespace BiT.Operator.Controllers;

/// <summary>
/// The weights download policy the operator hands to every trainer pod (docs/reliability.md, "Weights downloads"):
/// the trainer refuses plain http, non-public addresses and files over 8 GiB unless these loosen it.
/// </summary>
public sealed record WeightsPolicy
{
    /// <summary>Weights may be fetched over plain http.</summary>
    public bool AllowHttp { get; init; }

    /// <summary>Weights hosts may be at loopback, link-local or private addresses.</summary>
    public bool AllowPrivateNetworks { get; init; }

    /// <summary>Hosts (as written in URLs) allowed at non-public addresses: an internal mirror.</summary>
    public IReadOnlyList<string> PrivateHosts { get; init; } = [];

    /// <summary>The largest weights file, in bytes (the trainer's own default, 8 GiB).</summary>
    public long MaxBytes { get; init; } = 8L << 30;

    /// <summary>
    /// The trainer's environment for this policy. Every variable is always set: a pod shows the policy it ran under,
    /// an image's own defaults never decide it, and a Secret or ConfigMap in the job's <c>podTemplate.envFrom</c> cannot
    /// loosen it (a container's <c>env</c> wins over its <c>envFrom</c>).
    /// </summary>
    public IReadOnlyList<V1EnvVar> Env() =>
    [
        new() { Name = TrainerEnv.WeightsAllowHttp, Value = AllowHttp ? "true" : "false" },
        new() { Name = TrainerEnv.WeightsAllowPrivateNetworks, Value = AllowPrivateNetworks ? "true" : "false" },
        new() { Name = TrainerEnv.WeightsPrivateHosts, Value = string.Join(',', PrivateHosts) },
        new() { Name = TrainerEnv.WeightsMaxBytes, Value = MaxBytes.ToString(CultureInfo.InvariantCulture) },
    ];
}
