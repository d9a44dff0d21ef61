using System.Net;
using System.Text.Json.Nodes;

namespace KubeEmulator.Tests;

/// <summary>
/// Resource quantities as a real API server takes them: the full grammar (sign, decimal number, one suffix of binary
/// SI, decimal SI or a decimal exponent), a string outside it refused when the object is decoded (400), a negative
/// request or limit refused (422), and a PVC's storage request that is not positive refused (422).
/// </summary>
public sealed class QuantityStrictnessTests(KubeEmulatorFixture fx) : IClassFixture<KubeEmulatorFixture>
{
    private static string PodWith(string name, JsonNode quantity, string kind = "requests", string resource = "cpu") => new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "c",
                ["image"] = "busybox:1",
                ["resources"] = new JsonObject { [kind] = new JsonObject { [resource] = quantity } },
            }),
        },
    }.ToJsonString();

    private static string ClaimWith(string name, JsonNode storage, string kind = "requests") => new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "PersistentVolumeClaim",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["accessModes"] = new JsonArray("ReadWriteOnce"),
            ["resources"] = new JsonObject
            {
                ["requests"] = new JsonObject { ["storage"] = kind == "requests" ? storage : "1Gi" },
                [kind == "requests" ? "limits" : kind] = kind == "requests" ? new JsonObject() : new JsonObject { ["storage"] = storage },
            },
        },
    }.ToJsonString();

    private int _n;

    private async Task<(HttpStatusCode Status, string Body)> CreateAsync(string ns, string resource, string body)
    {
        var (status, json) = await RawHttp.SendAsync(fx.Server, HttpMethod.Post, $"/api/v1/namespaces/{ns}/{resource}", body);
        return (status, json?.ToJsonString() ?? "");
    }

    [Theory]
    [InlineData("2")]
    [InlineData("500m")]
    [InlineData("+2")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("1.5Gi")]
    [InlineData("1e3")]
    [InlineData("1E-3")]
    [InlineData("1E")]
    [InlineData("100u")]
    [InlineData("3n")]
    [InlineData("-0")]
    public async Task Every_form_of_the_grammar_is_accepted(string quantity)
    {
        var ns = await TestSupport.NewNamespaceAsync(fx.Server.CreateClient(), "qok");
        var (status, body) = await CreateAsync(ns, "pods", PodWith($"p{Interlocked.Increment(ref _n)}", quantity));
        Assert.True(status == HttpStatusCode.Created, $"{quantity}: {status} {body}");
    }

    [Theory]
    [InlineData("2 cores")]
    [InlineData("1gi")]
    [InlineData("1GB")]
    [InlineData(" 2")]
    [InlineData("2m2")]
    [InlineData("1e")]
    [InlineData("1Ki1")]
    [InlineData("0x10")]
    [InlineData("--1")]
    [InlineData("")]
    [InlineData("1,5")]
    public async Task A_string_outside_the_grammar_is_refused_as_a_real_server_s_decoder_does(string quantity)
    {
        var ns = await TestSupport.NewNamespaceAsync(fx.Server.CreateClient(), "qbad");
        var (status, body) = await CreateAsync(ns, "pods", PodWith("p", quantity, "limits", "memory"));
        Assert.True(status == HttpStatusCode.BadRequest, $"{quantity}: {status} {body}");
        Assert.Contains("quantities must match the regular expression", body, StringComparison.Ordinal);
        var claim = await CreateAsync(ns, "persistentvolumeclaims", ClaimWith("c", quantity));
        Assert.True(claim.Status == HttpStatusCode.BadRequest, $"{quantity}: {claim.Status} {claim.Body}");
    }

    [Theory]
    [InlineData("-2")]
    [InlineData("-1e3")]
    [InlineData("-.5")]
    [InlineData("-1Gi")]
    [InlineData("-100m")]
    public async Task A_negative_request_or_limit_is_refused_with_422(string quantity)
    {
        var ns = await TestSupport.NewNamespaceAsync(fx.Server.CreateClient(), "qneg");
        foreach (var kind in new[] { "requests", "limits" })
        {
            var (status, body) = await CreateAsync(ns, "pods", PodWith($"p-{kind}", quantity, kind));
            Assert.True((int)status == 422, $"{quantity} in {kind}: {status} {body}");
            Assert.Contains("must be greater than or equal to 0", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_json_number_quantity_is_taken_and_a_negative_one_refused()
    {
        var ns = await TestSupport.NewNamespaceAsync(fx.Server.CreateClient(), "qnum");
        Assert.Equal(HttpStatusCode.Created, (await CreateAsync(ns, "pods", PodWith("two", JsonValue.Create(2)))).Status);
        Assert.Equal(HttpStatusCode.Created, (await CreateAsync(ns, "pods", PodWith("half", JsonValue.Create(0.5)))).Status);
        Assert.Equal(422, (int)(await CreateAsync(ns, "pods", PodWith("minus", JsonValue.Create(-4)))).Status);
    }

    [Theory]
    [InlineData("-1Gi")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("0Gi")]
    [InlineData("-0.5Ti")]
    public async Task A_claim_whose_storage_request_is_not_positive_is_refused(string storage)
    {
        var ns = await TestSupport.NewNamespaceAsync(fx.Server.CreateClient(), "pvc");
        var (status, body) = await CreateAsync(ns, "persistentvolumeclaims", ClaimWith("c", storage));
        Assert.True((int)status == 422, $"{storage}: {status} {body}");
        Assert.Contains("spec.resources[storage]", body, StringComparison.Ordinal);
        Assert.Contains("must be greater than zero", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_claim_with_a_negative_storage_limit_is_refused_and_a_positive_claim_is_bound()
    {
        var ns = await TestSupport.NewNamespaceAsync(fx.Server.CreateClient(), "pvcl");
        var (status, body) = await CreateAsync(ns, "persistentvolumeclaims", ClaimWith("c", "-1Gi", "limits"));
        Assert.True((int)status == 422, $"{status} {body}");
        Assert.Contains("must be greater than or equal to 0", body, StringComparison.Ordinal);
        var ok = await CreateAsync(ns, "persistentvolumeclaims", ClaimWith("ok", "1.5Gi"));
        Assert.True(ok.Status == HttpStatusCode.Created, ok.Body);
        Assert.Contains("\"Bound\"", ok.Body, StringComparison.Ordinal);
    }
}
