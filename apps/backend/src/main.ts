import { startService } from '../../shared/start-service';
import { createApp } from './app';

startService('backend', process.env, deps => createApp(deps));
