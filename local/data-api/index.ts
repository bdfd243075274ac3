export { startDataApiServer, type DataApiServer, type DataApiServerOptions } from './server';
export { DEFAULT_LIMITS, type DataApiLimits } from './limits';
