// A grpc-js client that knows LlmMesh only through its .proto files.
// Usage: node tokenizer-client.mjs <host:port> <text>
// Prints JSON: the ids from Encode, the deltas DecodeStream sent for them one id at a time,
// and Decode's text for all of them.
import path from "node:path";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [address, text] = process.argv.slice(2);
if (!address || text === undefined) {
  console.error("usage: node tokenizer-client.mjs <host:port> <text>");
  process.exit(2);
}

const protoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../protos");
const definition = protoLoader.loadSync("llmmesh/v1/tokenizer.proto", {
  includeDirs: [protoRoot],
  keepCase: true,
  defaults: true,
});
const { llmmesh } = grpc.loadPackageDefinition(definition);
const client = new llmmesh.v1.Tokenizer(address, grpc.credentials.createInsecure());
const deadline = () => new Date(Date.now() + 30_000);

const unary = (method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, { deadline: deadline() }, (error, response) => (error ? reject(error) : resolve(response))));

const decodeStream = (ids) =>
  new Promise((resolve, reject) => {
    const deltas = [];
    const call = client.DecodeStream({ deadline: deadline() });
    call.on("data", (response) => deltas.push(response.text));
    call.on("error", reject);
    call.on("end", () => resolve(deltas));
    for (const id of ids) call.write({ ids: [id] });
    call.end();
  });

try {
  const { ids } = await unary("Encode", { text });
  const deltas = await decodeStream(ids);
  const { text: decoded } = await unary("Decode", { ids });
  const badId = await unary("Decode", { ids: [1, 2, 1_000_000] }).then(
    () => null,
    (error) => ({ code: error.code, details: error.details }));
  console.log(JSON.stringify({ ids, deltas, decoded, badId }));
} catch (error) {
  console.error(`${error.code ?? ""} ${error.details ?? error.message}`);
  process.exit(1);
} finally {
  client.close();
}
