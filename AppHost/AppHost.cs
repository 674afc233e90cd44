using LlmMesh.AppHost;
using LlmMesh.AppHost.Messaging;

var builder = DistributedApplication.CreateBuilder(args);

var repository = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
var dataDirectory = Path.GetFullPath(builder.Configuration["LlmMesh:DataDirectory"] ?? Path.Combine(repository, ".data"), repository);
var corpusDirectory = Path.GetFullPath(builder.Configuration["LlmMesh:CorpusDirectory"] ?? Path.Combine(repository, "data"), repository);

var messaging = builder.AddMessagingBroker("messaging", dataDirectory);
var apiKey = builder.AddMeshApiKey();

var tokenizer = builder.AddProject<Projects.LlmMesh_Tokenizer>("tokenizer")
    .AsMeshService(messaging, dataDirectory)
    .WithEnvironment("Tokenizer__CorpusPath", Path.Combine(corpusDirectory, "coco", "train.txt"));

var trainer = builder.AddProject<Projects.LlmMesh_Trainer>("trainer")
    .AsMeshService(messaging, dataDirectory)
    .WithReference(tokenizer)
    .WaitFor(tokenizer)
    .WithEnvironment("Trainer__DataDirectory", corpusDirectory)
    .WithEnvironment("Trainer__CorporaDirectory", Path.Combine(dataDirectory, "corpora"))
    .WithEnvironment("Trainer__RunsDirectory", Path.Combine(dataDirectory, "runs"))
    .WithEnvironment("Trainer__Threads", builder.Configuration["LlmMesh:TrainerThreads"] ?? "2")
    .WithEnvironment("Trainer__AutoTrainPreset", builder.Configuration["LlmMesh:AutoTrainPreset"] ?? "quick")
    .WithHttpCommand("/commands/start-quick-run", "Start quick training run", endpointName: "http",
        commandName: "start-quick-run", commandOptions: new HttpCommandOptions
        {
            Description = "Trains the 'quick' preset on the COCO corpus and publishes a model bundle",
            IconName = "BrainCircuit",
            PrepareRequest = async context =>
            {
                if (apiKey is not null)
                {
                    context.Request.Headers.Authorization = new("Bearer", await apiKey.Resource.GetValueAsync(context.CancellationToken));
                }
            },
        });

var encoder = builder.AddProject<Projects.LlmMesh_Encoder>("encoder")
    .AsMeshService(messaging, dataDirectory)
    .WithModelBackend("Encoder")
    .WithReference(tokenizer)
    .WaitFor(tokenizer);

var discriminator = builder.AddProject<Projects.LlmMesh_Discriminator>("discriminator")
    .AsMeshService(messaging, dataDirectory)
    .WithModelBackend("Discriminator")
    .WithReference(tokenizer)
    .WithReference(encoder)
    .WaitFor(tokenizer);

var generator = builder.AddProject<Projects.LlmMesh_Generator>("generator")
    .AsMeshService(messaging, dataDirectory)
    .WithModelBackend("Generator")
    .WithReference(tokenizer)
    .WithReference(encoder)
    .WithReference(discriminator)
    .WaitFor(tokenizer);

// OpenAI-compatible HTTP API over the generator, the mesh's RPCs as JSON and the playground page at
// /; it starts before a model exists and is ready once the generator is.
builder.AddProject<Projects.LlmMesh_Gateway>("gateway")
    .AsMeshEndpoint("http")
    .WithReference(generator)
    .WithReference(encoder)
    .WithReference(discriminator)
    .WithReference(trainer);

builder.Build().Run();
