// `npm run broker`: starts a local broker and keeps it until Ctrl-C.
import { startBroker } from "./broker.js";

const broker = await startBroker();
console.log(`Kafka broker at ${broker.bootstrap} (log: ${broker.logFile}); Ctrl-C stops it and deletes its data`);
const stop = () => void broker.stop().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
