using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Contracts.Pods;
using BiT.Operator.Api;
using k8s.Models;

namespace BiT.Operator.Controllers;

/// <summary>
/// The BiT job reconciler as a pure function of (job, owned pods, upstream job, now): it decides which objects
/// to create or delete, the new status and when to look again. It keeps no memory between calls, so the
/// operator may stop at any point and start again without duplicating anything. The status is the contracts'
/// <see cref="BiTJobStatus"/>; the decision's patch holds only <see cref="BiTJobStatus.OperatorFields"/> that changed.
/// </summary>
public sealed class JobReconciler(ControllerOptions options, IJobPlanner planner)
{
    public const string InvalidSpecReason = "InvalidSpec";

    public ReconcileDecision Reconcile(ReconcileInput input)
    {
        var job = input.Job;
        var old = job.Status;
        if (job.Metadata.DeletionTimestamp is not null)
        {
            return Deleting(input, old);
        }

        var ctx = new Context(input, old);
        Decide(ctx);
        // The summaries last, from the conditions as this reconcile leaves them: Stalled for a failure, then Ready
        // (kubectl wait), then Reconciling (kstatus, with Stalled; docs/gitops.md).
        if (KstatusRule.Stalled(ctx.Status) is { } stalled)
        {
            ctx.Condition(ConditionTypes.Stalled, stalled.Value, stalled.Reason, stalled.Message);
        }

        var (ready, reason, message) = ReadyRule.Of(ctx.Status);
        ctx.Condition(ConditionTypes.Ready, ready == ConditionStatus.True, reason, message);
        var reconciling = KstatusRule.Reconciling(ctx.Status);
        ctx.Condition(ConditionTypes.Reconciling, reconciling.Value, reconciling.Reason, reconciling.Message);
        var patch = BiTJobStatus.MergePatch(old, ctx.Status, BiTJobStatus.OperatorFields);

        // Events only accompany a change of status, so that a job stuck in the same state never floods them.
        var actions = patch is null ? ctx.Actions.Where(a => a is not RecordEvent).ToList() : ctx.Actions;
        return new ReconcileDecision(actions, ctx.Status, patch, ctx.RequeueAfter);
    }

    private sealed class Context(ReconcileInput input, BiTJobStatus old)
    {
        public ReconcileInput Input { get; } = input;

        public BiTJobStatus Old { get; } = old;

        public BiTJobStatus Status { get; set; } = old with { ObservedGeneration = input.Job.Metadata.Generation ?? 0, Restarts = old.Restarts ?? 0 };

        public List<JobAction> Actions { get; } = [];

        public TimeSpan? RequeueAfter { get; private set; }

        public DateTimeOffset Now => Input.Now;

        public long Generation => Input.Job.Metadata.Generation ?? 0;

        public string JobName => Input.Job.Metadata.Name;

        public void Requeue(TimeSpan after)
        {
            if (after < TimeSpan.Zero)
            {
                after = TimeSpan.Zero;
            }

            RequeueAfter = RequeueAfter is { } r && r <= after ? r : after;
        }

        /// <summary>Sets a condition; its lastTransitionTime moves only when the status flips.</summary>
        public void Condition(string type, bool value, string reason, string message = "") =>
            Status = Status with
            {
                Conditions = ConditionRules.Set(Status.Conditions, type, value ? ConditionStatus.True : ConditionStatus.False, reason, message, Generation, Now),
            };

        /// <summary>Sets the condition False only if it is True (a False that was never True stays absent).</summary>
        public void Clear(string type, string reason)
        {
            if (Status.IsConditionTrue(type))
            {
                Condition(type, false, reason);
            }
        }

        /// <summary>The time as the status stores it (whole seconds).</summary>
        public DateTimeOffset Stamp => KubeTimeJsonConverter.Normalize(Now);

        public void Event(string type, string reason, string message) => Actions.Add(new RecordEvent(type, reason, message));

        // What the phases of Decide find out and the later ones use, set in order: Admit, then LocatePods.

        /// <summary>The valid spec's settings (set by <see cref="Admit"/>).</summary>
        public JobSettings Settings { get; set; } = null!;

        /// <summary>The resolved plan (set by <see cref="Admit"/>).</summary>
        public PlannedJob Plan { get; set; } = null!;

        /// <summary>The trainer image (set by <see cref="Admit"/>).</summary>
        public string Image { get; set; } = "";

        /// <summary>The upstream pre-training job's output, for a fine-tune job that starts from one.</summary>
        public OwnedObjects.PretrainedMount? Pretrained { get; set; }

        /// <summary>The job's trainer pods by attempt (set by <see cref="LocatePods"/>).</summary>
        public List<V1Pod> Pods { get; set; } = [];

        /// <summary>The pod of the latest attempt (of a gang: worker 0's), if it still exists.</summary>
        public V1Pod? Current { get; set; }

        /// <summary>The latest attempt's pods that still exist, by worker (one for a job of one worker).</summary>
        public List<V1Pod> Gang { get; set; } = [];

        /// <summary>spec.resources.workers (set by <see cref="Admit"/>).</summary>
        public int Workers => Settings.Resources.Workers;

        /// <summary>The latest attempt number (0: none yet).</summary>
        public int Attempt { get; set; }

        /// <summary>True while spec.suspend was just cleared.</summary>
        public bool Resuming { get; set; }
    }

    /// <summary>
    /// The phases in order; each either settles the job's state for this reconcile (returns true) or hands on to the
    /// next through the context.
    /// </summary>
    private void Decide(Context c)
    {
        RecordResumedStep(c);
        if (c.Input.Job.Settings is { } settings)
        {
            Retention(c, settings);
        }

        if (IsFinished(c.Status))
        {
            Finished(c, c.Input.Job.Settings);
            return;
        }

        if (!Admit(c))
        {
            return;
        }

        LocatePods(c);
        RecoverStartTime(c);
        if (c.Current is { } current && c.Gang.Count >= c.Workers)
        {
            // The status that named this pod may have been lost (the operator stopped right after creating it): name
            // it now, or its end would be taken for a new one at every reconcile and recorded as restart after restart.
            // A gang is named once all its workers exist: until then its creation may have been cut short.
            c.Status = c.Status with { PodName = current.Metadata.Name };
        }

        var running = c.Gang.Count(p => p.Status?.Phase == "Running" && p.Metadata.DeletionTimestamp is null);
        c.Status = c.Status with { Workers = WorkersStatus.Create(running, c.Workers), WorldSize = c.Settings.Resources.WorldSize };

        if (DeadlinePassed(c) || CompletedRun(c) || Suspend(c))
        {
            return;
        }

        Proceed(c);
    }

    /// <summary>
    /// The restart that started the pod whose trainer reported <c>status.resumed</c> gets the step that trainer really
    /// restored: the last checkpoint reported before the restart may be newer (its file torn or unreadable) or older
    /// (a checkpoint written after the last report arrived) than the one the new pod loads.
    /// </summary>
    private static void RecordResumedStep(Context c)
    {
        if (c.Status.Resumed is not { PodName: { } resumedPod } resumed || c.Status.RestartHistory is not { Count: > 0 } history)
        {
            return;
        }

        // The entry of the pod just before the one that resumed (attempt N ended, attempt N+1 resumed).
        var attempt = OwnedObjects.AttemptOf(c.JobName, resumedPod);
        var index = -1;
        for (var i = history.Count - 1; i >= 0; i--)
        {
            if (history[i].PodName is { } ended && attempt > 1 && OwnedObjects.AttemptOf(c.JobName, ended) == attempt - 1)
            {
                index = i;
                break;
            }
        }

        if (index < 0 || history[index].ResumedFromStep == resumed.Step)
        {
            return;
        }

        var corrected = history.ToList();
        corrected[index] = history[index] with { ResumedFromStep = resumed.Step };
        c.Status = c.Status with { RestartHistory = corrected };
    }

    /// <summary>Validation, the image allow-list, the upstream job and the plan: false when the job cannot run now.</summary>
    private bool Admit(Context c)
    {
        var settings = c.Input.Job.Settings;
        var allErrors = c.Input.Job.Errors.ToList();
        var image = settings?.Image ?? options.TrainerImage;
        if (settings is not null && !options.IsImageAllowed(image))
        {
            allErrors.Add(new FieldError("spec.image", $"image '{image}' is not in the operator's allow-list"));
        }

        var policyErrors = settings is null ? [] : options.Scheduling.Check(settings).ToList();
        allErrors.AddRange(policyErrors);

        string? pretrainedWeights = null;
        if (settings?.FromPretrainJob is { } upstreamName)
        {
            switch (Upstream(c, upstreamName, allErrors))
            {
                case UpstreamState.WaitingState:
                    if (allErrors.Count == 0)
                    {
                        c.Condition(ConditionTypes.Validated, true, "SpecValid");
                        c.Condition(ConditionTypes.Running, false, "WaitingForPretrainJob", $"waiting for BiTPretrainJob {upstreamName} to succeed");
                        c.Status = c.Status with { Phase = JobPhase.Pending };
                        return false;
                    }

                    break;
                case UpstreamState.FailedState:
                    Fail(c, "PretrainJobFailed", $"BiTPretrainJob {upstreamName} failed; its output cannot be fine-tuned");
                    return false;
                case Ready ready:
                    c.Pretrained = ready.Mount;
                    pretrainedWeights = ready.WeightsPath;
                    break;
                default:
                    break;
            }
        }

        PlannedJob? plan = null;
        if (settings is not null)
        {
            var (p, planErrors) = planner.Plan(c.Input.Job, new PlanContext(
                c.Input.Kind, c.Input.Job.Namespace, c.JobName, c.Input.Job.Metadata.Uid ?? "",
                PodPaths.Checkpoints, pretrainedWeights));
            allErrors.AddRange(planErrors);
            plan = p;
        }

        if (allErrors.Count > 0 || settings is null || plan is null)
        {
            var message = string.Join("; ", allErrors.Select(e => e.ToString()));
            var reason = policyErrors.Count > 0 && policyErrors.Count == allErrors.Count ? SchedulingPolicy.RefusedReason : InvalidSpecReason;
            c.Condition(ConditionTypes.Validated, false, reason, message);
            c.Condition(ConditionTypes.Failed, true, reason, message);
            c.Status = c.Status with { Phase = JobPhase.Failed };
            c.Event(RecordEvent.Warning, reason, message);
            return false;
        }

        // A deferred plan has no hyperparameters yet: the trainer resolves them once it has measured the data.
        c.Condition(ConditionTypes.Validated, true, "SpecValid", plan.Missing.Count == 0 ? ""
            : $"hyperparameters are resolved in the pod once the trainer has measured {string.Join(", ", plan.Missing)}");
        c.Clear(ConditionTypes.Failed, "SpecValid");
        var world = settings.Resources.WorldSize;
        c.Status = c.Status with { Hyperparameters = world > 1 ? plan.Hyperparameters?.ForWorld(world) : plan.Hyperparameters, PlanHash = plan.PlanHash };
        (c.Settings, c.Plan, c.Image) = (settings, plan, image);
        return true;
    }

    /// <summary>The trainer pods by attempt, the latest attempt, and its pod if that still exists.</summary>
    private static void LocatePods(Context c)
    {
        c.Pods = [.. TrainerPods(c.Input)
            .OrderBy(p => OwnedObjects.AttemptOf(c.JobName, p.Metadata.Name))
            .ThenBy(p => OwnedObjects.WorkerOf(c.JobName, p.Metadata.Name))];
        var newest = c.Pods.Count == 0 ? 0 : c.Pods.Max(p => OwnedObjects.AttemptOf(c.JobName, p.Metadata.Name));
        c.Attempt = Math.Max(OwnedObjects.AttemptOf(c.JobName, c.Status.PodName), newest);

        // The pods the status names are gone; older pods are leftovers.
        c.Gang = newest >= c.Attempt && c.Attempt > 0 ? [.. c.Pods.Where(p => OwnedObjects.AttemptOf(c.JobName, p.Metadata.Name) == c.Attempt)] : [];
        c.Current = c.Gang.FirstOrDefault(p => OwnedObjects.WorkerOf(c.JobName, p.Metadata.Name) == 0);
    }

    /// <summary>
    /// The status write that follows the first pod's creation was lost (the operator stopped in between): the job
    /// started when its first pod was made. Without this the adopted pod runs with no startTime, and so with no
    /// activeDeadlineSeconds.
    /// </summary>
    private static void RecoverStartTime(Context c)
    {
        if (c.Status.StartTime is not null || c.Pods.Count == 0)
        {
            return;
        }

        var first = c.Pods.Select(p => p.Metadata.CreationTimestamp ?? p.Status?.StartTime).Where(t => t is not null).Min();
        c.Status = c.Status with { StartTime = first is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : c.Stamp };
    }

    /// <summary>activeDeadlineSeconds bounds the whole job, restarts and suspensions included.</summary>
    private bool DeadlinePassed(Context c)
    {
        if (c.Settings.RunPolicy.ActiveDeadline is not { } deadline || c.Status.StartTime is not { } started)
        {
            return false;
        }

        var due = started + deadline;
        if (c.Now >= due)
        {
            DeleteActive(c, c.Pods, options.TerminationGracePeriodSeconds);
            Fail(c, "DeadlineExceeded", $"the job ran longer than activeDeadlineSeconds ({deadline.TotalSeconds:0}s)");
            AfterFinished(c, c.Settings);
            return true;
        }

        c.Requeue(due - c.Now);
        return false;
    }

    /// <summary>A run that finished is a success whatever happened meanwhile (suspended while writing its last step).</summary>
    private bool CompletedRun(Context c)
    {
        if (c.Current is not null && PodOutcome.Classify(c.Current) is { Kind: PodEndKind.Succeeded } done)
        {
            Ended(c, c.Current, done);
            return true;
        }

        return false;
    }

    /// <summary>spec.suspend: stop the trainer (it checkpoints) and wait; note a resume when it is cleared.</summary>
    private bool Suspend(Context c)
    {
        if (c.Settings.Suspend)
        {
            // The trainer writes a checkpoint on SIGTERM within the grace period and exits 3 (in a gang, rank 0 does).
            DeleteActive(c, c.Gang, options.TerminationGracePeriodSeconds);

            if (!c.Status.IsConditionTrue(ConditionTypes.Suspended))
            {
                c.Event(RecordEvent.Normal, "Suspended", "job suspended; the trainer checkpoints and stops");
            }

            c.Condition(ConditionTypes.Suspended, true, "Suspended", "spec.suspend is true");
            c.Condition(ConditionTypes.Running, false, "Suspended");
            c.Status = c.Status with { Phase = JobPhase.Suspended, Workers = WorkersStatus.Create(0, c.Workers) };
            return true;
        }

        c.Resuming = c.Status.IsConditionTrue(ConditionTypes.Suspended);
        if (c.Resuming)
        {
            c.Condition(ConditionTypes.Suspended, false, "Resumed", "spec.suspend was cleared");
        }

        return false;
    }

    /// <summary>The current pod's state decides: none yet, being deleted, live, or ended.</summary>
    private void Proceed(Context c)
    {
        if (c.Settings.Resources.IsGang)
        {
            ProceedGang(c);
            return;
        }

        if (c.Current is not { } current)
        {
            NoPod(c);
            return;
        }

        if (current.Metadata.DeletionTimestamp is not null)
        {
            // Our own deletion (suspend, roll, stall) is under way: the pod's disappearance wakes us.
            return;
        }

        var outcome = PodOutcome.Classify(current);
        if (outcome.Kind == PodEndKind.NotEnded)
        {
            if (current.Status?.Phase == "Unknown")
            {
                // The node stopped reporting: the pod will not come back on its own.
                RecordRestart(c, c.Settings, PodEndReason.NodeLost, null, $"pod {current.Metadata.Name}'s node stopped reporting", countsAsFailure: true);
                c.Actions.Add(new DeletePod(current.Metadata.Name, 0));
                return;
            }

            Active(c, c.Settings, current);
            return;
        }

        Ended(c, current, outcome);
    }

    /// <summary>
    /// A gang (spec.resources.workers above 1): its workers start together, and the first that ends (or is deleted,
    /// or whose node is lost), or a stall, ends the attempt: the others get SIGTERM (rank 0 checkpoints) and, once
    /// every worker has ended, the whole gang starts again from the checkpoint. One restart, one history entry.
    /// </summary>
    private void ProceedGang(Context c)
    {
        var s = c.Status;
        if (c.Attempt == 0)
        {
            CreateGang(c, 1, Enumerable.Range(0, c.Workers));
            return;
        }

        var live = c.Gang.Where(p => PodOutcome.Classify(p).Kind == PodEndKind.NotEnded).ToList();
        var recorded = s.Phase == JobPhase.Restarting && OwnedObjects.AttemptOf(c.JobName, s.RestartHistory?.LastOrDefault()?.PodName) == c.Attempt;
        var resuming = c.Resuming || s.Phase == JobPhase.Suspended;
        if (recorded || resuming)
        {
            if (live.Count > 0)
            {
                // The next attempt waits for this one to end: rank 0 may still be writing the checkpoint it resumes from.
                DeleteActive(c, live, options.TerminationGracePeriodSeconds);
                return;
            }

            if (!resuming && BackoffRemaining(c, c.Settings) is { } wait && wait > TimeSpan.Zero)
            {
                c.Requeue(wait);
                return;
            }

            CreateGang(c, c.Attempt + 1, Enumerable.Range(0, c.Workers));
            return;
        }

        var present = c.Gang.Select(p => OwnedObjects.WorkerOf(c.JobName, p.Metadata.Name)).ToHashSet();
        var missing = Enumerable.Range(0, c.Workers).Where(w => !present.Contains(w)).ToList();
        if (missing.Count > 0 && OwnedObjects.AttemptOf(c.JobName, s.PodName) < c.Attempt && live.Count == c.Gang.Count
            && c.Gang.All(p => p.Metadata.DeletionTimestamp is null))
        {
            // The status that follows the gang's creation was never written: the operator stopped between creating
            // its pods. Make the missing workers under the same names (no worker is ever doubled), and name the gang.
            CreateGang(c, c.Attempt, missing);
            return;
        }

        if (GangEnd(c, missing) is { } end)
        {
            EndGang(c, end, live);
            return;
        }

        ActiveGang(c, c.Settings);
    }

    /// <summary>How an attempt of a gang ended: the worker that ended it, why, and every worker's end so far.</summary>
    private sealed record GangEnding(int Worker, string PodName, PodOutcome Outcome, string Detail, IReadOnlyList<string> Workers);

    /// <summary>
    /// The first worker that ended (by its container's finish time; at the same second a rank that failed on its own
    /// before one whose collective failed because of it), else a worker deleted or whose node stopped reporting;
    /// null while the gang runs. A worker other than rank 0 that finished is no end: rank 0's success is the job's.
    /// </summary>
    private GangEnding? GangEnd(Context c, IReadOnlyList<int> missing)
    {
        var ends = new List<(int Worker, V1Pod? Pod, PodOutcome Outcome, string Detail, DateTime At)>();
        foreach (var pod in c.Gang)
        {
            var worker = OwnedObjects.WorkerOf(c.JobName, pod.Metadata.Name);
            var outcome = PodOutcome.Classify(pod);
            var finished = pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Terminated?.FinishedAt ?? DateTime.MaxValue;
            if (outcome.Kind is PodEndKind.Retryable or PodEndKind.Permanent)
            {
                var detail = $"worker {worker} (pod {pod.Metadata.Name}) ended: {outcome.Reason}" + (outcome.ExitCode is { } code ? $" (exit code {code})" : "")
                    + (string.IsNullOrEmpty(outcome.Message) ? "" : $": {outcome.Message}");
                ends.Add((worker, pod, outcome, detail, finished));
            }
            else if (outcome.Kind == PodEndKind.NotEnded && pod.Status?.Phase == "Unknown")
            {
                ends.Add((worker, pod, new PodOutcome(PodEndKind.Retryable, PodEndReason.NodeLost, null, ""), $"worker {worker} (pod {pod.Metadata.Name}): its node stopped reporting", DateTime.MaxValue));
            }
            else if (outcome.Kind == PodEndKind.NotEnded && pod.Metadata.DeletionTimestamp is not null)
            {
                ends.Add((worker, pod, new PodOutcome(PodEndKind.Retryable, PodEndReason.PodDeleted, null, ""), $"worker {worker} (pod {pod.Metadata.Name}) is being deleted", DateTime.MaxValue));
            }
        }

        foreach (var worker in missing)
        {
            var name = OwnedObjects.PodName(c.JobName, c.Attempt, worker, c.Workers);
            ends.Add((worker, null, new PodOutcome(PodEndKind.Retryable, PodEndReason.PodDeleted, null, ""), $"worker {worker} (pod {name}) disappeared", DateTime.MaxValue));
        }

        if (ends.Count == 0)
        {
            return null;
        }

        var first = ends
            .OrderBy(e => e.At)
            .ThenBy(e => e.Outcome.Reason == PodEndReason.TrainerTransientFailure ? 1 : 0)
            .ThenBy(e => e.Worker)
            .First();
        return new GangEnding(first.Worker, first.Pod?.Metadata.Name ?? OwnedObjects.PodName(c.JobName, c.Attempt, first.Worker, c.Workers), first.Outcome, first.Detail,
            [.. ends.OrderBy(e => e.Worker).Select(e => Shorten(e.Detail))]);
    }

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "..." : text;

    /// <summary>The attempt ended: a permanent failure of any worker fails the job, anything else restarts the gang once.</summary>
    private void EndGang(Context c, GangEnding end, IReadOnlyList<V1Pod> live)
    {
        foreach (var pod in live.Where(p => p.Metadata.DeletionTimestamp is null))
        {
            // A worker whose node is lost will not answer SIGTERM; the others stop gracefully (rank 0 checkpoints).
            var grace = pod.Status?.Phase == "Unknown" ? 0 : options.TerminationGracePeriodSeconds;
            c.Actions.Add(new DeletePod(pod.Metadata.Name, grace));
        }

        if (end.Outcome.Kind == PodEndKind.Permanent)
        {
            Fail(c, end.Outcome.Reason.ToString(), string.IsNullOrEmpty(end.Outcome.Message) ? end.Detail : $"worker {end.Worker}: {end.Outcome.Message}");
            AfterFinished(c, c.Settings);
            return;
        }

        var others = end.Workers.Count > 1 ? $" ({end.Workers.Count - 1} more ended or stopped)" : "";
        RecordRestart(c, c.Settings, end.Outcome.Reason, end.Outcome.ExitCode, end.Detail + others, countsAsFailure: true,
            new GangRecord(end.PodName, end.Worker, end.Workers));
    }

    /// <summary>A running gang: Running only when every worker runs; then its progress is watched as one pod's (<see cref="WatchProgress"/>: the clocks are rank 0's).</summary>
    private void ActiveGang(Context c, JobSettings settings)
    {
        var s = c.Status;
        // A worker other than rank 0 that already finished its last step is not waited for: rank 0 is finishing too.
        var waiting = c.Gang.Where(p => p.Status?.Phase is not ("Running" or "Succeeded")).OrderBy(p => OwnedObjects.WorkerOf(c.JobName, p.Metadata.Name)).ToList();
        var rank0 = c.Current!;
        c.Status = c.Status with { Phase = waiting.Count == 0 ? JobPhase.Running : JobPhase.Pending, PodName = rank0.Metadata.Name };
        if (waiting.Count > 0)
        {
            var (reason, message) = Waiting(waiting[0]);
            c.Condition(ConditionTypes.Running, false, reason, $"{waiting.Count} of {c.Workers} workers not running; pod {waiting[0].Metadata.Name}" + (message.Length > 0 ? $": {message}" : ""));
            return;
        }

        c.Condition(ConditionTypes.Running, true, "PodRunning", "");
        if (s.IsConditionTrue(ConditionTypes.Restarting))
        {
            c.Condition(ConditionTypes.Restarting, false, "PodReplaced", $"workers of attempt {c.Attempt} started");
        }

        WatchProgress(c, settings, rank0, c.Gang);
    }

    /// <summary>
    /// The active pods' run, one pod or a whole gang (whose clocks are rank 0's): past the stall timeout the job stalls
    /// (restarted or failed per <c>runPolicy.onStall</c>, the pods deleted with a short grace: a stalled trainer may not
    /// answer SIGTERM), and past <c>maxSegmentDuration</c> the pods are rolled (a restart that is not a failure).
    /// </summary>
    private void WatchProgress(Context c, JobSettings settings, V1Pod rank0, IReadOnlyList<V1Pod> pods)
    {
        var s = c.Status;
        var gang = settings.Resources.IsGang ? new GangRecord(rank0.Metadata.Name, 0, null) : null;
        var started = ContainerStart(rank0);
        var lastProgress = Max(s.Progress?.LastProgressTime, started) ?? c.Now;
        var stallDue = lastProgress + settings.RunPolicy.StallTimeout;
        if (c.Now >= stallDue)
        {
            var message = $"no progress for {GoDuration.WholeSeconds(c.Now - lastProgress)} (stallTimeout {GoDuration.WholeSeconds(settings.RunPolicy.StallTimeout)}) at step {s.Progress?.Step ?? 0}";
            if (!s.IsConditionTrue(ConditionTypes.Stalled))
            {
                c.Event(RecordEvent.Warning, nameof(PodEndReason.Stalled), message);
            }

            c.Condition(ConditionTypes.Stalled, true, KstatusRule.NoProgressReason, message);
            switch (settings.RunPolicy.OnStall)
            {
                case StallAction.Restart:
                    RecordRestart(c, settings, PodEndReason.Stalled, null, message, countsAsFailure: true, gang);
                    DeleteActive(c, pods, options.StalledPodGracePeriodSeconds);
                    return;
                case StallAction.Fail:
                    DeleteActive(c, pods, options.StalledPodGracePeriodSeconds);
                    Fail(c, nameof(PodEndReason.Stalled), message);
                    AfterFinished(c, settings);
                    return;
                default:
                    break;
            }
        }
        else
        {
            c.Clear(ConditionTypes.Stalled, "ProgressResumed");
            c.Requeue(stallDue - c.Now);
        }

        if (settings.RunPolicy.MaxSegmentDuration is { } segment && started is { } st)
        {
            var due = st + segment;
            if (c.Now >= due)
            {
                DeleteActive(c, pods, options.TerminationGracePeriodSeconds);
                var who = gang is null ? $"pod {rank0.Metadata.Name}" : $"the workers of attempt {c.Attempt}";
                RecordRestart(c, settings, PodEndReason.SegmentRoll, null, $"{who} reached maxSegmentDuration {GoDuration.WholeSeconds(segment)}", countsAsFailure: false, gang);
                return;
            }

            c.Requeue(due - c.Now);
        }
    }

    private static DateTimeOffset? ContainerStart(V1Pod pod)
    {
        var containerStart = pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Running?.StartedAt ?? pod.Status?.StartTime;
        return containerStart is { } cs ? new DateTimeOffset(DateTime.SpecifyKind(cs, DateTimeKind.Utc)) : null;
    }

    /// <summary>
    /// Creates the workers of an attempt (all of a new one; the missing ones of an attempt whose creation was cut
    /// short), with the headless Service and, when asked for, the gang scheduler's PodGroup.
    /// </summary>
    private void CreateGang(Context c, int attempt, IEnumerable<int> workers)
    {
        var (settings, plan, job) = (c.Settings, c.Plan, c.Input.Job.Object);
        c.Actions.Add(new EnsureObject(OwnedObjects.PlanConfigMap(job, plan)));
        if (attempt == 1)
        {
            if (settings.CheckpointVolume is { ClaimName: null } created)
            {
                c.Actions.Add(new EnsureObject(OwnedObjects.CheckpointClaim(job, created)));
            }

            c.Actions.Add(new EnsureObject(OwnedObjects.TrainerAccount(job)));
            c.Actions.Add(new EnsureObject(OwnedObjects.TrainerRole(job, c.Input.Kind)));
            c.Actions.Add(new EnsureObject(OwnedObjects.TrainerRoleBinding(job)));
        }

        // Ensured at every attempt (a conflict is success): a Service deleted meanwhile comes back.
        c.Actions.Add(new EnsureObject(OwnedObjects.GangService(job, options.RendezvousPort)));
        if (settings.Resources.PodGroup != PodGroupKind.None)
        {
            c.Actions.Add(new EnsureObject(OwnedObjects.PodGroup(job, settings.Resources.PodGroup, attempt, c.Workers)));
        }

        if (attempt != c.Attempt)
        {
            foreach (var old in c.Pods.Where(p => p.Metadata.DeletionTimestamp is null))
            {
                c.Actions.Add(new DeletePod(old.Metadata.Name, 0));
            }
        }

        var source = new OwnedObjects.TrainerPodSource(job, c.Input.Kind, settings, plan, attempt, c.Image, c.Pretrained);
        foreach (var worker in workers)
        {
            c.Actions.Add(new CreatePod(OwnedObjects.TrainerPod(source, options, worker)));
        }

        c.Status = c.Status with
        {
            Phase = JobPhase.Pending,
            PodName = OwnedObjects.PodName(c.JobName, attempt, 0, c.Workers),
            StartTime = c.Status.StartTime ?? c.Stamp,
            Workers = WorkersStatus.Create(0, c.Workers),
        };
        c.Condition(ConditionTypes.Running, false, "PodPending");
        c.Clear(ConditionTypes.Stalled, "PodReplaced");
    }

    /// <summary>Why a pod is not running yet: held by scheduling gates (Kueue's admission), unscheduled, or its container waiting.</summary>
    private static (string Reason, string Message) Waiting(V1Pod pod)
    {
        var unscheduled = pod.Status?.Conditions?.FirstOrDefault(x => x.Type == "PodScheduled" && x.Status == "False");
        if (unscheduled?.Reason == "SchedulingGated")
        {
            return ("SchedulingGated", "waiting for its scheduling gates to be removed (Kueue admits the workload, or another controller releases it)");
        }

        return ("PodPending", PendingMessage(pod));
    }

    /// <summary>The job's trainer pods (its cleanup pod aside).</summary>
    private static IEnumerable<V1Pod> TrainerPods(ReconcileInput input) => input.Pods.Where(p => !OwnedObjects.IsCleanupPod(p));

    private const int CleanupGracePeriodSeconds = 30;

    /// <summary>How long a failed cleanup pod stays before it is deleted and tried again.</summary>
    public static readonly TimeSpan CleanupRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// checkpoint.volume.onDelete: the finalizer is there exactly while the job's checkpoints sit in an existing claim
    /// with Delete; after a change of spec, a claim the operator created is owned by the job exactly under Delete.
    /// </summary>
    private static void Retention(Context c, JobSettings settings)
    {
        var want = OwnedObjects.NeedsCleanupFinalizer(settings);
        if (want != OwnedObjects.HasCleanupFinalizer(c.Input.Job.Object))
        {
            c.Actions.Add(new SetFinalizer(OwnedObjects.CleanupFinalizer, want));
        }

        if (settings.CheckpointVolume is { ClaimName: null } created && c.Old.ObservedGeneration is { } seen && seen != c.Generation)
        {
            c.Actions.Add(new SetClaimOwner(OwnedObjects.CheckpointClaimName(c.JobName), created.OnDelete == CheckpointRetention.Delete));
        }
    }

    /// <summary>
    /// A job being deleted. Without our finalizer garbage collection does the rest. With it (checkpoints in an
    /// existing claim, onDelete Delete): stop the trainer, then empty the job's directory of the claim in a cleanup
    /// pod, then let the job go. A failed cleanup is reported and tried again after <see cref="CleanupRetryDelay"/>.
    /// </summary>
    private ReconcileDecision Deleting(ReconcileInput input, BiTJobStatus old)
    {
        var job = input.Job.Object;
        if (!OwnedObjects.HasCleanupFinalizer(job))
        {
            return new ReconcileDecision([], old, null, null);
        }

        var actions = new List<JobAction>();
        var settings = input.Job.Settings;
        if (settings is null || !OwnedObjects.NeedsCleanupFinalizer(settings))
        {
            if (settings is null)
            {
                actions.Add(new RecordEvent(RecordEvent.Warning, "CheckpointsKept", "the spec is not valid, so its checkpoint claim is unknown: nothing was deleted"));
            }

            actions.Add(new SetFinalizer(OwnedObjects.CleanupFinalizer, false));
            return new ReconcileDecision(actions, old, null, null);
        }

        var trainers = TrainerPods(input).Where(p => PodOutcome.Classify(p).Kind == PodEndKind.NotEnded).ToList();
        if (trainers.Count > 0)
        {
            // The checkpoints are about to go: no need to wait long for one more.
            foreach (var pod in trainers.Where(p => p.Metadata.DeletionTimestamp is null))
            {
                actions.Add(new DeletePod(pod.Metadata.Name, Math.Min(30, options.TerminationGracePeriodSeconds)));
            }

            return new ReconcileDecision(actions, old, null, null);
        }

        var cleanup = input.Pods.FirstOrDefault(OwnedObjects.IsCleanupPod);
        var claim = settings.CheckpointVolume!.ClaimName;
        if (cleanup is null)
        {
            var image = settings.Image is { } own && options.IsImageAllowed(own) ? own : options.TrainerImage;
            actions.Add(new CreatePod(OwnedObjects.CleanupPod(job, settings, image, options)));
            actions.Add(new RecordEvent(RecordEvent.Normal, "DeletingCheckpoints", $"emptying {job.Metadata.Name}/ in claim {claim} (checkpoint.volume.onDelete: Delete)"));
            return new ReconcileDecision(actions, old, null, null);
        }

        var outcome = PodOutcome.Classify(cleanup);
        if (outcome.Kind == PodEndKind.Succeeded)
        {
            actions.Add(new RecordEvent(RecordEvent.Normal, "CheckpointsDeleted", $"emptied {job.Metadata.Name}/ in claim {claim}"));
            actions.Add(new SetFinalizer(OwnedObjects.CleanupFinalizer, false));
            return new ReconcileDecision(actions, old, null, null);
        }

        if (outcome.Kind == PodEndKind.NotEnded || cleanup.Metadata.DeletionTimestamp is not null)
        {
            return new ReconcileDecision(actions, old, null, null);
        }

        DateTimeOffset ended = cleanup.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Terminated?.FinishedAt is { } finished
            ? new DateTimeOffset(DateTime.SpecifyKind(finished, DateTimeKind.Utc))
            : input.Now;
        if (input.Now < ended + CleanupRetryDelay)
        {
            return new ReconcileDecision(actions, old, null, ended + CleanupRetryDelay - input.Now);
        }

        actions.Add(new RecordEvent(RecordEvent.Warning, "CheckpointCleanupFailed",
            $"emptying {job.Metadata.Name}/ in claim {claim} failed ({outcome.Reason}): {outcome.Message}; trying again. " +
            $"To keep the files and let the job go, remove the finalizer {OwnedObjects.CleanupFinalizer}."));
        actions.Add(new DeletePod(cleanup.Metadata.Name, 0));
        return new ReconcileDecision(actions, old, null, null);
    }

    private static bool IsFinished(BiTJobStatus s) =>
        s.Phase == JobPhase.Succeeded
        || (s.Phase == JobPhase.Failed && s.FindCondition(ConditionTypes.Failed)?.Reason != InvalidSpecReason);

    private void Finished(Context c, JobSettings? settings)
    {
        DeleteActive(c, TrainerPods(c.Input), options.TerminationGracePeriodSeconds);
        if (settings is not null)
        {
            AfterFinished(c, settings);
        }
    }

    /// <summary>
    /// cleanupSecondsAfterFinished: the job stays (a GitOps tool finds what Git says), its pods and its owned
    /// checkpoint claim go. Level-triggered: every reconcile past the time deletes whatever pods are left; the claim's
    /// delete is issued with the ResourcesReleased condition in the same decision, and repeated (a 404 is done) only
    /// if the operator stopped before the condition was written.
    /// </summary>
    private static void FinishedCleanup(Context c, JobSettings settings)
    {
        if (settings.RunPolicy.CleanupAfterFinished is not { } delay)
        {
            return;
        }

        var due = (c.Status.CompletionTime ?? c.Now) + delay;
        if (c.Now < due)
        {
            c.Requeue(due - c.Now);
            return;
        }

        foreach (var pod in TrainerPods(c.Input).Where(p => p.Metadata.DeletionTimestamp is null))
        {
            // Ended pods (a finished job's running pod was stopped when it finished): the grace only bounds a straggler.
            c.Actions.Add(new DeletePod(pod.Metadata.Name, CleanupGracePeriodSeconds));
        }

        if (c.Status.IsConditionTrue(ConditionTypes.ResourcesReleased))
        {
            return;
        }

        // Only a claim the job owns: an existing claim, or a created one kept by onDelete Retain, is the user's.
        var claim = settings.CheckpointVolume is { ClaimName: null, OnDelete: CheckpointRetention.Delete } ? OwnedObjects.CheckpointClaimName(c.JobName) : null;
        if (claim is not null)
        {
            c.Actions.Add(new DeleteClaim(claim));
        }

        var message = $"runPolicy.cleanupSecondsAfterFinished ({delay.TotalSeconds:0}s): deleted the pods" + (claim is null ? "" : $" and the checkpoint claim {claim}") + "; the job and its status stay";
        c.Condition(ConditionTypes.ResourcesReleased, true, "CleanupAfterFinished", message);
        c.Event(RecordEvent.Normal, "ResourcesReleased", message);
    }

    /// <summary>What a finished job's run policy asks for, on time rather than at the next resync.</summary>
    private static void AfterFinished(Context c, JobSettings settings)
    {
        FinishedTtl(c, settings);
        FinishedCleanup(c, settings);
    }

    /// <summary>ttlSecondsAfterFinished: delete the job.</summary>
    private static void FinishedTtl(Context c, JobSettings settings)
    {
        if (settings.RunPolicy.TtlAfterFinished is not { } ttl)
        {
            return;
        }

        var completed = c.Status.CompletionTime ?? c.Now;
        var due = completed + ttl;
        if (c.Now >= due)
        {
            c.Actions.Add(new DeleteJob());
        }
        else
        {
            c.Requeue(due - c.Now);
        }
    }

    private static void DeleteActive(Context c, IEnumerable<V1Pod> pods, int grace)
    {
        foreach (var pod in pods)
        {
            if (pod.Metadata.DeletionTimestamp is null && PodOutcome.Classify(pod).Kind == PodEndKind.NotEnded)
            {
                c.Actions.Add(new DeletePod(pod.Metadata.Name, grace));
            }
        }
    }

    private static void Fail(Context c, string reason, string message)
    {
        c.Condition(ConditionTypes.Failed, true, reason, message);
        c.Condition(ConditionTypes.Running, false, reason);
        c.Clear(ConditionTypes.Restarting, reason);
        c.Status = c.Status with { Phase = JobPhase.Failed, CompletionTime = c.Status.CompletionTime ?? c.Stamp };
        c.Event(RecordEvent.Warning, reason, message);
    }

    private abstract record UpstreamState
    {
        public sealed record WaitingState : UpstreamState;

        public sealed record FailedState : UpstreamState;

        public static UpstreamState Waiting { get; } = new WaitingState();

        public static UpstreamState Failed { get; } = new FailedState();
    }

    private sealed record Ready(OwnedObjects.PretrainedMount Mount, string WeightsPath) : UpstreamState;

    private static UpstreamState? Upstream(Context c, string upstreamName, List<FieldError> errors)
    {
        if (c.Input.Kind != JobKind.FineTune)
        {
            errors.Add(new FieldError("spec.model.weights.fromPretrainJob", "only a BiTFineTuneJob can start from a BiTPretrainJob"));
            return null;
        }

        if (c.Input.Upstream is not { } up)
        {
            return UpstreamState.Waiting;
        }

        var upSettings = up.Settings;
        var claim = upSettings is null ? null : OwnedObjects.ClaimFor(up.Metadata.Name, upSettings);
        if (upSettings is not null && claim is null)
        {
            errors.Add(new FieldError("spec.model.weights.fromPretrainJob.name",
                $"BiTPretrainJob {upstreamName} has no spec.checkpoint.volume, so its output does not outlive its pod"));
            return null;
        }

        var upStatus = up.Status;
        if (upStatus.Phase == JobPhase.Failed)
        {
            return UpstreamState.Failed;
        }

        if (upStatus.Phase != JobPhase.Succeeded || claim is null)
        {
            return UpstreamState.Waiting;
        }

        if (upStatus.IsConditionTrue(ConditionTypes.ResourcesReleased) && upSettings?.CheckpointVolume is { ClaimName: null, OnDelete: CheckpointRetention.Delete })
        {
            errors.Add(new FieldError("spec.model.weights.fromPretrainJob.name",
                $"BiTPretrainJob {upstreamName} released its checkpoint claim {claim} (runPolicy.cleanupSecondsAfterFinished), so its output is gone"));
            return null;
        }

        // The trainer writes its final model to final/model.npz in its checkpoint volume; a reported path under
        // /checkpoints says where exactly.
        var modelPath = upStatus.Result?.ModelPath;
        var relative = modelPath is not null && modelPath.StartsWith(PodPaths.Checkpoints + "/", StringComparison.Ordinal)
            ? modelPath[PodPaths.Checkpoints.Length..]
            : "/" + PodPaths.FinalModel;
        return new Ready(new OwnedObjects.PretrainedMount(claim, OwnedObjects.CheckpointSubPath(up.Metadata.Name, upSettings!)), PodPaths.Pretrained + relative);
    }

    /// <summary>No live pod: start the first one, the next one after a restart's backoff, or after a resume.</summary>
    private void NoPod(Context c)
    {
        var s = c.Status;
        if (c.Attempt == 0 || c.Resuming)
        {
            StartPod(c);
            return;
        }

        if (s.Phase == JobPhase.Restarting)
        {
            if (BackoffRemaining(c, c.Settings) is { } wait && wait > TimeSpan.Zero)
            {
                c.Requeue(wait);
                return;
            }

            StartPod(c);
            return;
        }

        // The pod vanished without us deleting it (removed by someone, or its node was lost and it was collected).
        RecordRestart(c, c.Settings, PodEndReason.PodDeleted, null, $"pod {s.PodName} disappeared", countsAsFailure: true);
    }

    private static TimeSpan? BackoffRemaining(Context c, JobSettings settings)
    {
        var last = c.Status.RestartHistory?.LastOrDefault();
        if (last is null || last.Reason is nameof(PodEndReason.SegmentRoll) || last.Time is not { } at)
        {
            return null;
        }

        return at + settings.RunPolicy.BackoffFor(Math.Max(1, c.Status.Restarts ?? 0)) - c.Now;
    }

    /// <summary>Creates the next attempt's pod (and, for the first, what the job owns besides).</summary>
    private void StartPod(Context c)
    {
        var (settings, plan, job, attempt) = (c.Settings, c.Plan, c.Input.Job.Object, c.Attempt + 1);
        var first = attempt == 1;
        if (first)
        {
            c.Actions.Add(new EnsureObject(OwnedObjects.PlanConfigMap(job, plan)));
            if (settings.CheckpointVolume is { ClaimName: null } created)
            {
                c.Actions.Add(new EnsureObject(OwnedObjects.CheckpointClaim(job, created)));
            }

            c.Actions.Add(new EnsureObject(OwnedObjects.TrainerAccount(job)));
            c.Actions.Add(new EnsureObject(OwnedObjects.TrainerRole(job, c.Input.Kind)));
            c.Actions.Add(new EnsureObject(OwnedObjects.TrainerRoleBinding(job)));
        }
        else
        {
            // The plan may have changed (new hash, new ConfigMap); the rest exists since the first attempt.
            c.Actions.Add(new EnsureObject(OwnedObjects.PlanConfigMap(job, plan)));
            foreach (var old in c.Pods.Where(p => p.Metadata.DeletionTimestamp is null))
            {
                c.Actions.Add(new DeletePod(old.Metadata.Name, 0));
            }
        }

        var pod = OwnedObjects.TrainerPod(new OwnedObjects.TrainerPodSource(job, c.Input.Kind, settings, plan, attempt, c.Image, c.Pretrained), options);
        c.Actions.Add(new CreatePod(pod));
        c.Status = c.Status with
        {
            Phase = JobPhase.Pending,
            PodName = pod.Metadata.Name,
            StartTime = c.Status.StartTime ?? c.Stamp,
        };
        // Worded as the next reconcile will see the new pod (Pending, no message), so that it has nothing to write.
        c.Condition(ConditionTypes.Running, false, "PodPending");
        c.Clear(ConditionTypes.Stalled, "PodReplaced");
    }

    /// <summary>A live pod: Running or Pending; once running, its progress is watched (<see cref="WatchProgress"/>).</summary>
    private void Active(Context c, JobSettings settings, V1Pod pod)
    {
        var s = c.Status;
        var isRunning = pod.Status?.Phase == "Running";
        c.Status = c.Status with { Phase = isRunning ? JobPhase.Running : JobPhase.Pending, PodName = pod.Metadata.Name };
        var (pendingReason, pendingMessage) = isRunning ? ("PodRunning", "") : Waiting(pod);
        c.Condition(ConditionTypes.Running, isRunning, pendingReason, pendingMessage);
        if (s.IsConditionTrue(ConditionTypes.Restarting))
        {
            c.Condition(ConditionTypes.Restarting, false, "PodReplaced", $"pod {pod.Metadata.Name} started");
        }

        if (!isRunning)
        {
            return;
        }

        WatchProgress(c, settings, pod, [pod]);
    }

    private static string PendingMessage(V1Pod pod)
    {
        var waiting = pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting;
        var unscheduled = pod.Status?.Conditions?.FirstOrDefault(x => x.Type == "PodScheduled" && x.Status == "False");
        return waiting is not null ? $"{waiting.Reason}: {waiting.Message}".Trim(' ', ':')
            : unscheduled is not null ? $"{unscheduled.Reason}: {unscheduled.Message}".Trim(' ', ':')
            : "";
    }

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : (a > b ? a : b);

    /// <summary>A pod that ended: success, a permanent failure, or a restart after backoff.</summary>
    private void Ended(Context c, V1Pod pod, PodOutcome outcome)
    {
        var (s, settings, resuming) = (c.Status, c.Settings, c.Resuming);
        if (outcome.Kind == PodEndKind.Succeeded)
        {
            // The trainer patches status.result before it exits; its last words are the fallback.
            var result = s.Result ?? TrainerResult.FromMessage(outcome.Message);
            c.Status = c.Status with { Phase = JobPhase.Succeeded, CompletionTime = c.Stamp, Result = result };
            c.Condition(ConditionTypes.Succeeded, true, "TrainerSucceeded", ResultMessage(result));
            c.Condition(ConditionTypes.Running, false, "Completed");
            c.Clear(ConditionTypes.Restarting, "Completed");
            c.Clear(ConditionTypes.Stalled, "Completed");
            c.Event(RecordEvent.Normal, "Succeeded", ResultMessage(result));
            AfterFinished(c, settings);
            return;
        }

        if (outcome.Kind == PodEndKind.Permanent)
        {
            Fail(c, outcome.Reason.ToString(), string.IsNullOrEmpty(outcome.Message) ? $"trainer exited with code {outcome.ExitCode}" : outcome.Message);
            AfterFinished(c, settings);
            return;
        }

        // Retryable. Already recorded (we are in the backoff of this very pod)? Then wait, or start the next one.
        var recorded = s.Phase == JobPhase.Restarting && s.PodName == pod.Metadata.Name;
        if (resuming || recorded)
        {
            if (!resuming && BackoffRemaining(c, settings) is { } wait && wait > TimeSpan.Zero)
            {
                c.Requeue(wait);
                return;
            }

            StartPod(c);
            return;
        }

        var detail = $"pod {pod.Metadata.Name} ended: {outcome.Reason}" + (outcome.ExitCode is { } code ? $" (exit code {code})" : "")
            + (string.IsNullOrEmpty(outcome.Message) ? "" : $": {outcome.Message}");
        RecordRestart(c, settings, outcome.Reason, outcome.ExitCode, detail, countsAsFailure: true);
    }

    /// <summary>Records a restart (or fails the job past maxRestarts) and schedules the next pod.</summary>
    private static void RecordRestart(Context c, JobSettings settings, PodEndReason reason, int? exitCode, string message, bool countsAsFailure, GangRecord? gang = null)
    {
        var s = c.Status;
        var done = s.Restarts ?? 0;
        if (countsAsFailure && done >= settings.RunPolicy.MaxRestarts)
        {
            Fail(c, "RestartLimitExceeded", $"{message}; restarted {done} times already (runPolicy.maxRestarts {settings.RunPolicy.MaxRestarts})");
            AfterFinished(c, settings);
            return;
        }

        var restarts = countsAsFailure ? done + 1 : done;
        var resumed = s.Checkpoint?.Step ?? 0;
        var history = ConditionRules.AppendRestart(
            s.RestartHistory,
            new RestartRecord
            {
                Time = c.Stamp,
                Reason = reason.ToString(),
                ExitCode = exitCode,
                PodName = gang?.PodName ?? s.PodName,
                ResumedFromStep = resumed,
                Worker = gang?.Worker,
                Workers = gang?.Workers is { Count: > 0 } w ? w : null,
            });
        c.Status = c.Status with { Phase = JobPhase.Restarting, Restarts = restarts, RestartHistory = history };
        c.Condition(ConditionTypes.Restarting, true, reason.ToString(), message);
        c.Condition(ConditionTypes.Running, false, reason.ToString());
        var delay = countsAsFailure ? settings.RunPolicy.BackoffFor(restarts) : TimeSpan.Zero;
        c.Event(RecordEvent.Warning, reason == PodEndReason.SegmentRoll ? nameof(PodEndReason.SegmentRoll) : "Restarting",
            $"{message}; resuming from step {resumed.ToString(CultureInfo.InvariantCulture)} in {GoDuration.WholeSeconds(delay)}");
        c.Requeue(delay);
    }

    /// <summary>A gang's restart: the worker that ended the attempt and how each worker had ended.</summary>
    private sealed record GangRecord(string PodName, int Worker, IReadOnlyList<string>? Workers);

    private static string ResultMessage(ResultStatus? result) =>
        result?.Top1 is { } top1
            ? string.Create(CultureInfo.InvariantCulture, $"training finished: top-1 {top1:0.####}")
            : "training finished";
}
