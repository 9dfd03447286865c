export { createWebServer, type WebDeps, type WebServer } from './server.js';
export { type ConsoleDeps, type CheckRunSummary } from './console-routes.js';
