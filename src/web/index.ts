export { createWebServer, type WebDeps, type WebServer } from './server.js';
export { type ConsoleDeps, type CheckRunSummary, type ConsoleArea, type ConsoleKit, type App } from './console-routes.js';
export { QueueAccess, queueArea, type QueueAreaDeps } from './console-queue.js';
export { trackingArea, type TrackingAreaDeps } from './console-tracking.js';
export { directoryArea, type DirectoryAreaDeps } from './console-directory.js';
export { migrationArea, type MigrationAreaDeps } from './console-migration.js';
export { freeBusyArea, type FreeBusyAreaDeps } from './console-freebusy.js';
export { chartsArea, ConsoleSampler, SERIES as CHART_SERIES, type ChartsAreaDeps, type SamplerDeps } from './console-charts.js';
