// webpack's default entry is src/index.js (this fixture's is src/main.js), and its default
// output directory is relative to the working directory, not to this file. Nothing else is set.
import { join } from "node:path";

export default {
  mode: "production",
  context: import.meta.dirname,
  entry: "./src/main.js",
  output: { path: join(import.meta.dirname, "dist") },
};
