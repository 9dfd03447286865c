export { createWebServer, type WebDeps, type WebServer } from './server.js';
