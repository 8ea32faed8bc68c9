import { api } from '../api.server';

export const loader = api('scheduleLoader');
export const action = api('scheduleAction');
