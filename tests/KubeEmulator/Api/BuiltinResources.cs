namespace KubeEmulator.Api;

/// <summary>The built-in resources the emulator serves (a subset of a real cluster: what operators and kubectl need).</summary>
internal static class BuiltinResources
{
    public const string CrdGroup = "apiextensions.k8s.io";

    public static IReadOnlyList<ResourceType> Create()
    {
        static ResourceType Core(string resource, string kind, bool ns, string singular, string[]? shortNames = null, bool status = false, bool generation = false, string[]? categories = null) => new()
        {
            Group = "", Version = "v1", Resource = resource, Kind = kind, Namespaced = ns, Singular = singular,
            ShortNames = shortNames ?? [], HasStatus = status, TracksGeneration = generation, Categories = categories ?? [],
        };
        static ResourceType G(string group, string resource, string kind, bool ns, string singular, string[]? shortNames = null, bool status = false) => new()
        {
            Group = group, Version = "v1", Resource = resource, Kind = kind, Namespaced = ns, Singular = singular,
            ShortNames = shortNames ?? [], HasStatus = status,
        };
        string[] all = ["all"];
        return
        [
            Core("namespaces", "Namespace", false, "namespace", ["ns"], status: true) with { Verbs = ["create", "delete", "get", "list", "patch", "update", "watch"] },
            Core("pods", "Pod", true, "pod", ["po"], status: true, generation: true, categories: all),
            Core("configmaps", "ConfigMap", true, "configmap", ["cm"]),
            Core("secrets", "Secret", true, "secret"),
            Core("services", "Service", true, "service", ["svc"], status: true, categories: all),
            Core("serviceaccounts", "ServiceAccount", true, "serviceaccount", ["sa"]),
            Core("persistentvolumeclaims", "PersistentVolumeClaim", true, "persistentvolumeclaim", ["pvc"], status: true),
            Core("events", "Event", true, "event", ["ev"]),
            Core("nodes", "Node", false, "node", ["no"], status: true),
            G("events.k8s.io", "events", "Event", true, "event", ["ev"]),
            G("rbac.authorization.k8s.io", "roles", "Role", true, "role"),
            G("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", true, "rolebinding"),
            G("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", false, "clusterrole"),
            G("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", false, "clusterrolebinding"),
            G("coordination.k8s.io", "leases", "Lease", true, "lease"),
            // Stored with their validation and defaults, so that `helm install` and `kubectl apply` of a chart work; no
            // controller acts on them (no ReplicaSets, no pods, no disruption accounting).
            G("apps", "deployments", "Deployment", true, "deployment", ["deploy"], status: true) with { TracksGeneration = true, Categories = all },
            G("policy", "poddisruptionbudgets", "PodDisruptionBudget", true, "poddisruptionbudget", ["pdb"], status: true) with { TracksGeneration = true },
            G(CrdGroup, "customresourcedefinitions", "CustomResourceDefinition", false, "customresourcedefinition", ["crd", "crds"], status: true),
            G("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, "selfsubjectaccessreview") with { Verbs = ["create"] },
            G("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview", false, "subjectaccessreview") with { Verbs = ["create"] },
        ];
    }
}
