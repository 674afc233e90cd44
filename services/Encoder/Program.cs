using LlmMesh.Encoder.Extensions;
using LlmMesh.Encoder.Grpc;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.Services.AddGrpc();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGrpcService<EncoderGrpcService>();

app.Run();

public partial class Program;
