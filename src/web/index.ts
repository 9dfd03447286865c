export { createWebServer, type WebDeps, type WebServer } from './server.js';
export { type ConsoleDeps, type CheckRunSummary, type ConsoleArea, type ConsoleKit, type App } from './console-routes.js';
