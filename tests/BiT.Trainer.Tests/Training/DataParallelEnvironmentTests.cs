using System.Net;
using System.Net.Sockets;
using BiT.Trainer.Training;

namespace BiT.Trainer.Tests.Training;

/// <summary>The torchrun environment as the trainer reads it (docs/distributed.md, "The environment contract").</summary>
public sealed class DataParallelEnvironmentTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] values)
    {
        var map = values.ToDictionary(v => v.Name, v => v.Value);
        return name => map.GetValueOrDefault(name);
    }

    [Fact]
    public void No_world_size_or_a_world_of_one_is_a_single_process_without_a_group()
    {
        Assert.Same(DataParallel.Single, DataParallel.FromEnvironment(Env()));
        Assert.Same(DataParallel.Single, DataParallel.FromEnvironment(Env(("WORLD_SIZE", "1"), ("RANK", "0"))));
    }

    [Fact]
    public async Task Ranks_given_MASTER_ADDR_and_MASTER_PORT_alone_form_a_group_over_rank_0_s_TCP_store()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var tasks = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(
            () =>
            {
                using var world = DataParallel.FromEnvironment(Env(
                    ("WORLD_SIZE", "2"), ("RANK", rank.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    ("BIT_COLLECTIVE_TIMEOUT_SECONDS", "60")));
                var (loss, stop) = world.Agree(rank + 1, rank == 1);
                return (world.Rank, world.WorldSize, world.IsLeader, loss, stop);
            },
            TaskCreationOptions.LongRunning)).ToArray();
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(3));
        Assert.Equal((0, 2, true, 1.5, true), results[0]);
        Assert.Equal((1, 2, false, 1.5, true), results[1]);
    }

    [Theory]
    [InlineData("RANK", null, "RANK is not set")]
    [InlineData("RANK", "2", "RANK must be a whole number in [0, 1], got '2'")]
    [InlineData("RANK", "-1", "RANK must be a whole number in [0, 1], got '-1'")]
    [InlineData("BIT_COLLECTIVE_TIMEOUT_SECONDS", "soon", "BIT_COLLECTIVE_TIMEOUT_SECONDS must be a whole number")]
    [InlineData("MASTER_PORT", null, "neither MASTER_PORT (rank 0 serves the rendezvous there) nor BIT_RENDEZVOUS_DIR")]
    [InlineData("MASTER_PORT", "70000", "MASTER_PORT must be a whole number in [1, 65535]")]
    public void A_bad_or_missing_variable_is_an_error_naming_it(string name, string? value, string expected)
    {
        var values = new Dictionary<string, string> { ["WORLD_SIZE"] = "2", ["RANK"] = "1", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = "29500" };
        if (value is null)
        {
            values.Remove(name);
        }
        else
        {
            values[name] = value;
        }
        var e = Assert.Throws<TrainingFailedException>(() => DataParallel.FromEnvironment(n => values.GetValueOrDefault(n)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
