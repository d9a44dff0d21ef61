using BiT.Operator.Runtime;

namespace BiT.Operator.Tests.Runtime;

public sealed class StringPoolTests
{
    [Fact]
    public void Equal_strings_come_back_as_one_instance()
    {
        var pool = new StringPool(16);
        var a = new string("bit.training/v1alpha1".AsSpan());
        var b = new string("bit.training/v1alpha1".AsSpan());
        Assert.NotSame(a, b);
        Assert.Same(pool.Intern(a), pool.Intern(b));
        Assert.Null(pool.Intern(null));
    }

    [Fact]
    public void The_pool_stops_growing_at_its_capacity_and_then_returns_its_input()
    {
        var pool = new StringPool(64);
        for (var i = 0; i < 100; i++)
        {
            pool.Intern("pool-fill-" + i);
        }

        Assert.Equal(64, pool.Count);
        Assert.Same(pool.Intern(new string("pool-fill-3".AsSpan())), pool.Intern(new string("pool-fill-3".AsSpan())));
        var fresh = "pool-after-full-" + Guid.NewGuid();
        Assert.Same(fresh, pool.Intern(fresh));
        Assert.Equal(64, pool.Count);
    }
}
