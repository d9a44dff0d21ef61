using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Controllers;
using BiT.Operator.Tests.Controllers;
using k8s;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// What the API server says about the objects a job owns: a refusal no retry can change fails the job with the
/// server's message; a transient answer (5xx, 429, 409) is retried until it goes through.
/// </summary>
public sealed class ApiRejectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(422, "pods")]
    [InlineData(403, "pods")]
    [InlineData(422, "configmaps")]
    public async Task A_permanent_rejection_of_an_owned_object_fails_the_job_with_the_server_s_message(int status, string resource)
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        cluster.Server.Faults.FailNext(1, status, verb: "create", resource: resource);
        await using var op = cluster.StartOperator();
        await cluster.CreateJobAsync(JobKind.FineTune, "refused", ContractsJobPlannerTests.RealSpec());

        var failed = await cluster.WaitForJobAsync(JobKind.FineTune, "refused", s => s.Phase == JobPhase.Failed, Timeout, "the job to fail");

        var condition = failed.FindCondition(ConditionTypes.Failed)!;
        Assert.Equal("OwnedObjectRejected", condition.Reason);
        Assert.Contains($"{status} ", condition.Message, StringComparison.Ordinal);
        Assert.Contains("injected rejection", condition.Message, StringComparison.Ordinal);
        var events = (await cluster.Admin.CoreV1.ListNamespacedEventAsync(TestCluster.Namespace)).Items;
        Assert.Contains(events, e => e.InvolvedObject.Name == "refused" && e.Reason == "OwnedObjectRejected");
    }

    [Theory]
    [InlineData(503)]
    [InlineData(429)]
    [InlineData(500)]
    public async Task A_transient_answer_is_retried_until_the_pod_exists(int status)
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        cluster.Server.Faults.FailNext(3, status, verb: "create", resource: "pods");
        await using var op = cluster.StartOperator();
        await cluster.CreateJobAsync(JobKind.FineTune, "patient", ContractsJobPlannerTests.RealSpec());

        var status1 = await cluster.WaitForJobAsync(JobKind.FineTune, "patient", s => s.PodName == "patient-run-1", Timeout, "the first pod");

        Assert.NotEqual(JobPhase.Failed, status1.Phase);
        Assert.Contains(await cluster.PodsAsync(), p => p.Metadata.Name == "patient-run-1");
    }

    [Fact]
    public void The_rejections_that_fail_a_job_are_the_4xx_a_retry_cannot_change()
    {
        int[] permanent = [400, 403, 413, 422];
        int[] retried = [404, 408, 409, 429, 500, 503, 504];
        Assert.All(permanent, c => Assert.True(JobController.IsPermanentRejection((System.Net.HttpStatusCode)c), $"{c}"));
        Assert.All(retried, c => Assert.False(JobController.IsPermanentRejection((System.Net.HttpStatusCode)c), $"{c}"));
    }
}
