// Vitest 4 with the node environment (its default, stated here so that it stays so).
export default { test: { environment: "node", include: ["tether.test.js"] } };
