using System.Text;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Http;

/// <summary>
/// Decodes the protobuf request bodies kubectl's imperative commands send (`kubectl create namespace|configmap|secret|
/// serviceaccount|role|rolebinding|clusterrole|clusterrolebinding`, `kubectl create token`) and DeleteOptions: the "k8s\0" envelope (runtime.Unknown) around a
/// message of one of those kinds, decoded by a table of their field numbers into the same JSON the client would send.
/// Other kinds answer 415 (see docs/emulator.md).
/// </summary>
internal static class ProtobufBodies
{
    private enum F
    {
        String,
        Int64,
        Bool,
        Bytes,
        Time,
        MapString,
        MapBytes,
        RepeatedString,
        Message,
        RepeatedMessage,
    }

    private sealed record Field(string Name, F Type, Dictionary<int, Field>? Message = null);

    private static readonly Dictionary<int, Field> OwnerReference = new()
    {
        [1] = new("kind", F.String), [3] = new("name", F.String), [4] = new("uid", F.String), [5] = new("apiVersion", F.String),
        [6] = new("controller", F.Bool), [7] = new("blockOwnerDeletion", F.Bool),
    };

    private static readonly Dictionary<int, Field> ObjectMeta = new()
    {
        [1] = new("name", F.String), [2] = new("generateName", F.String), [3] = new("namespace", F.String), [5] = new("uid", F.String),
        [6] = new("resourceVersion", F.String), [7] = new("generation", F.Int64), [8] = new("creationTimestamp", F.Time),
        [11] = new("labels", F.MapString), [12] = new("annotations", F.MapString),
        [13] = new("ownerReferences", F.RepeatedMessage, OwnerReference), [14] = new("finalizers", F.RepeatedString),
    };

    private static readonly Dictionary<int, Field> PolicyRule = new()
    {
        [1] = new("verbs", F.RepeatedString), [2] = new("apiGroups", F.RepeatedString), [3] = new("resources", F.RepeatedString),
        [4] = new("resourceNames", F.RepeatedString), [5] = new("nonResourceURLs", F.RepeatedString),
    };

    private static readonly Dictionary<int, Field> Subject = new()
    {
        [1] = new("kind", F.String), [2] = new("apiGroup", F.String), [3] = new("name", F.String), [4] = new("namespace", F.String),
    };

    private static readonly Dictionary<int, Field> RoleRef = new() { [1] = new("apiGroup", F.String), [2] = new("kind", F.String), [3] = new("name", F.String) };

    private static readonly Dictionary<int, Field> LabelSelector = new() { [1] = new("matchLabels", F.MapString) };

    private static readonly Dictionary<int, Field> AccessReviewSpec = new()
    {
        [1] = new("resourceAttributes", F.Message, new()
        {
            [1] = new("namespace", F.String), [2] = new("verb", F.String), [3] = new("group", F.String), [4] = new("version", F.String),
            [5] = new("resource", F.String), [6] = new("subresource", F.String), [7] = new("name", F.String),
        }),
        [2] = new("nonResourceAttributes", F.Message, new() { [1] = new("path", F.String), [2] = new("verb", F.String) }),
        [3] = new("user", F.String),
        [4] = new("groups", F.RepeatedString),
        [6] = new("uid", F.String),
    };

    private static readonly Dictionary<int, Field> NamedRef = new() { [1] = new("name", F.String) };

    private static readonly Dictionary<string, Dictionary<int, Field>> Kinds = new(StringComparer.Ordinal)
    {
        ["Namespace"] = new()
        {
            [1] = new("metadata", F.Message, ObjectMeta),
            [2] = new("spec", F.Message, new() { [1] = new("finalizers", F.RepeatedString) }),
        },
        ["ConfigMap"] = new()
        {
            [1] = new("metadata", F.Message, ObjectMeta), [2] = new("data", F.MapString), [3] = new("binaryData", F.MapBytes), [4] = new("immutable", F.Bool),
        },
        ["Secret"] = new()
        {
            [1] = new("metadata", F.Message, ObjectMeta), [2] = new("data", F.MapBytes), [3] = new("type", F.String), [4] = new("stringData", F.MapString), [5] = new("immutable", F.Bool),
        },
        ["ServiceAccount"] = new()
        {
            [1] = new("metadata", F.Message, ObjectMeta), [2] = new("secrets", F.RepeatedMessage, NamedRef), [3] = new("imagePullSecrets", F.RepeatedMessage, NamedRef), [4] = new("automountServiceAccountToken", F.Bool),
        },
        ["SelfSubjectAccessReview"] = new() { [1] = new("metadata", F.Message, ObjectMeta), [2] = new("spec", F.Message, AccessReviewSpec) },
        ["SubjectAccessReview"] = new() { [1] = new("metadata", F.Message, ObjectMeta), [2] = new("spec", F.Message, AccessReviewSpec) },
        ["Role"] = new() { [1] = new("metadata", F.Message, ObjectMeta), [2] = new("rules", F.RepeatedMessage, PolicyRule) },
        ["ClusterRole"] = new()
        {
            [1] = new("metadata", F.Message, ObjectMeta), [2] = new("rules", F.RepeatedMessage, PolicyRule),
            [3] = new("aggregationRule", F.Message, new() { [1] = new("clusterRoleSelectors", F.RepeatedMessage, LabelSelector) }),
        },
        ["RoleBinding"] = new() { [1] = new("metadata", F.Message, ObjectMeta), [2] = new("subjects", F.RepeatedMessage, Subject), [3] = new("roleRef", F.Message, RoleRef) },
        ["ClusterRoleBinding"] = new() { [1] = new("metadata", F.Message, ObjectMeta), [2] = new("subjects", F.RepeatedMessage, Subject), [3] = new("roleRef", F.Message, RoleRef) },
        // `kubectl create token SA [--audience A] [--duration D] [--bound-object-kind K --bound-object-name N]`
        // (k8s.io/api/authentication/v1 generated.proto: TokenRequestSpec audiences=1, boundObjectRef=3, expirationSeconds=4).
        ["TokenRequest"] = new()
        {
            [1] = new("metadata", F.Message, ObjectMeta),
            [2] = new("spec", F.Message, new()
            {
                [1] = new("audiences", F.RepeatedString),
                [3] = new("boundObjectRef", F.Message, new() { [1] = new("kind", F.String), [2] = new("apiVersion", F.String), [3] = new("name", F.String), [4] = new("uid", F.String) }),
                [4] = new("expirationSeconds", F.Int64),
            }),
        },
        // The body of a DELETE from client-go clients that prefer protobuf (helm uninstall deleting its release Secret).
        ["DeleteOptions"] = new()
        {
            [1] = new("gracePeriodSeconds", F.Int64),
            [2] = new("preconditions", F.Message, new() { [1] = new("uid", F.String), [2] = new("resourceVersion", F.String) }),
            [3] = new("orphanDependents", F.Bool), [4] = new("propagationPolicy", F.String), [5] = new("dryRun", F.RepeatedString),
        },
    };

    private static readonly Dictionary<int, Field> TypeMeta = new() { [1] = new("apiVersion", F.String), [2] = new("kind", F.String) };

    public static JsonObject Decode(byte[] body)
    {
        if (body.Length < 4 || body[0] != 'k' || body[1] != '8' || body[2] != 's' || body[3] != 0)
        {
            throw ApiException.BadRequest("protobuf body without the k8s envelope");
        }
        var envelope = new Reader(body, 4, body.Length);
        JsonObject? typeMeta = null;
        byte[]? raw = null;
        while (!envelope.End)
        {
            var (field, wire) = envelope.Tag();
            if (field == 1 && wire == 2)
            {
                typeMeta = Message(new Reader(envelope.Slice()), TypeMeta);
            }
            else if (field == 2 && wire == 2)
            {
                raw = envelope.Slice().ToArray();
            }
            else
            {
                envelope.Skip(wire);
            }
        }
        var kind = Json.Str(typeMeta, "kind") ?? "";
        if (raw is null || !Kinds.TryGetValue(kind, out var schema))
        {
            throw ApiException.UnsupportedMediaType($"application/vnd.kubernetes.protobuf (the emulator decodes protobuf only for {string.Join(", ", Kinds.Keys)}; got {kind}; send JSON)");
        }
        var obj = new JsonObject { ["apiVersion"] = Json.Str(typeMeta, "apiVersion"), ["kind"] = kind };
        foreach (var (k, v) in Message(new Reader(raw, 0, raw.Length), schema))
        {
            obj[k] = v?.DeepClone();
        }
        return obj;
    }

    private static JsonObject Message(Reader r, Dictionary<int, Field> schema)
    {
        var o = new JsonObject();
        while (!r.End)
        {
            var (number, wire) = r.Tag();
            if (!schema.TryGetValue(number, out var f))
            {
                r.Skip(wire);
                continue;
            }
            switch (f.Type)
            {
                case F.String:
                    {
                        // Go's JSON for these types omits empty strings (omitempty); keep the decoded JSON the same.
                        var text = Encoding.UTF8.GetString(r.Slice());
                        if (text.Length > 0)
                        {
                            o[f.Name] = text;
                        }
                        break;
                    }
                case F.Bytes:
                    o[f.Name] = Convert.ToBase64String(r.Slice());
                    break;
                case F.Int64:
                    o[f.Name] = (long)r.Varint();
                    break;
                case F.Bool:
                    o[f.Name] = r.Varint() != 0;
                    break;
                case F.Time:
                    {
                        var t = new Reader(r.Slice());
                        long seconds = 0;
                        while (!t.End)
                        {
                            var (n, w) = t.Tag();
                            if (n == 1)
                            {
                                seconds = (long)t.Varint();
                            }
                            else
                            {
                                t.Skip(w);
                            }
                        }
                        o[f.Name] = Json.Timestamp(DateTimeOffset.FromUnixTimeSeconds(seconds));
                        break;
                    }
                case F.MapString:
                case F.MapBytes:
                    {
                        var entry = new Reader(r.Slice());
                        string key = "";
                        JsonNode? value = f.Type == F.MapString ? "" : "";
                        while (!entry.End)
                        {
                            var (n, w) = entry.Tag();
                            if (n == 1)
                            {
                                key = Encoding.UTF8.GetString(entry.Slice());
                            }
                            else if (n == 2)
                            {
                                var bytes = entry.Slice();
                                value = f.Type == F.MapString ? Encoding.UTF8.GetString(bytes) : Convert.ToBase64String(bytes);
                            }
                            else
                            {
                                entry.Skip(w);
                            }
                        }
                        if (o[f.Name] is not JsonObject map)
                        {
                            map = new JsonObject();
                            o[f.Name] = map;
                        }
                        map[key] = value;
                        break;
                    }
                case F.RepeatedString:
                    Array(o, f.Name).Add(Encoding.UTF8.GetString(r.Slice()));
                    break;
                case F.Message:
                    o[f.Name] = Message(new Reader(r.Slice()), f.Message!);
                    break;
                case F.RepeatedMessage:
                    Array(o, f.Name).Add(Message(new Reader(r.Slice()), f.Message!));
                    break;
            }
        }
        return o;
    }

    private static JsonArray Array(JsonObject o, string name)
    {
        if (o[name] is not JsonArray a)
        {
            a = [];
            o[name] = a;
        }
        return a;
    }

    /// <summary>A cursor over protobuf wire format.</summary>
    private sealed class Reader(byte[] data, int start, int end)
    {
        private int _p = start;

        public Reader(ReadOnlySpan<byte> slice)
            : this(slice.ToArray(), 0, slice.Length)
        {
        }

        public bool End => _p >= end;

        public (int Field, int Wire) Tag()
        {
            var tag = Varint();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_p >= end)
                {
                    throw ApiException.BadRequest("truncated protobuf body");
                }
                var b = data[_p++];
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }
            }
            throw ApiException.BadRequest("malformed protobuf varint");
        }

        public ReadOnlySpan<byte> Slice()
        {
            var len = (int)Varint();
            if (len < 0 || _p + len > end)
            {
                throw ApiException.BadRequest("truncated protobuf body");
            }
            var s = data.AsSpan(_p, len);
            _p += len;
            return s;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0:
                    Varint();
                    break;
                case 1:
                    _p += 8;
                    break;
                case 2:
                    Slice();
                    break;
                case 5:
                    _p += 4;
                    break;
                default:
                    throw ApiException.BadRequest($"unsupported protobuf wire type {wire}");
            }
        }
    }
}
