using LlmMesh.AppHost;
using LlmMesh.AppHost.Messaging;

var builder = DistributedApplication.CreateBuilder(args);

var repository = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
var dataDirectory = Path.GetFullPath(builder.Configuration["LlmMesh:DataDirectory"] ?? Path.Combine(repository, ".data"), repository);
var corpusDirectory = Path.GetFullPath(builder.Configuration["LlmMesh:CorpusDirectory"] ?? Path.Combine(repository, "data"), repository);

var messaging = builder.AddMessagingBroker("messaging", dataDirectory);
var apiKey = builder.AddMeshApiKey();
var storage = ModelStorage.From(builder, dataDirectory);

var tokenizer = builder.AddProject<Projects.LlmMesh_Tokenizer>("tokenizer")
    .AsMeshService(messaging, dataDirectory, storage)
    .WithEnvironment("Tokenizer__CorpusPath", Path.Combine(corpusDirectory, "coco", "train.txt"));

var trainer = builder.AddProject<Projects.LlmMesh_Trainer>("trainer")
    .AsMeshService(messaging, dataDirectory, storage)
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

// Serving services and the gateway run LlmMesh:Replicas:{Encoder,Generator,Discriminator,Gateway}
// processes each (default 1): "generator", "generator-2", ... every one its own resource and port;
// their clients balance each call over all of them.
var encoders = builder.AddReplicas("encoder", "Encoder", name => builder.AddProject<Projects.LlmMesh_Encoder>(name)
    .AsMeshService(messaging, dataDirectory, storage)
    .WithModelBackend("Encoder")
    .WithReference(tokenizer)
    .WaitFor(tokenizer));

var discriminators = builder.AddReplicas("discriminator", "Discriminator", name => builder.AddProject<Projects.LlmMesh_Discriminator>(name)
    .AsMeshService(messaging, dataDirectory, storage)
    .WithModelBackend("Discriminator")
    .WithReference(tokenizer)
    .WithReplicaReferences(encoders)
    .WaitFor(tokenizer));

var generators = builder.AddReplicas("generator", "Generator", name => builder.AddProject<Projects.LlmMesh_Generator>(name)
    .AsMeshService(messaging, dataDirectory, storage)
    .WithModelBackend("Generator")
    .WithReference(tokenizer)
    .WithReplicaReferences(encoders)
    .WithReplicaReferences(discriminators)
    .WaitFor(tokenizer));

// OpenAI-compatible HTTP API over the generator, the mesh's RPCs as JSON and the playground page at
// /; it starts before a model exists and is ready once the generator is.
builder.AddReplicas("gateway", "Gateway", name => builder.AddProject<Projects.LlmMesh_Gateway>(name)
    .AsMeshEndpoint("http")
    .WithReplicaReferences(generators)
    .WithReplicaReferences(encoders)
    .WithReplicaReferences(discriminators)
    .WithReference(trainer));

builder.Build().Run();
