namespace Eccos.Scheduling.Http.Tests;

public class SmokeTests
{
    [Test]
    public async Task A_request_is_served_over_http_through_the_sdk()
    {
        await using HttpPool pool = await HttpPool.StartAsync([("small", new SimulatedModelOptions(), 0.9, null), ("large", new SimulatedModelOptions(), 0.95, null)]);

        ChatResponse response = await HttpPool.WithinBound(pool.Router.GetResponseAsync([new ChatMessage(ChatRole.User, "hello")]));

        Assert.That(HttpPool.DecisionOf(response).Model, Is.EqualTo("small"));
        Assert.That(response.Text, Does.StartWith("small: hello"));
        Assert.That(response.Usage?.OutputTokenCount, Is.EqualTo(16));
    }
}
