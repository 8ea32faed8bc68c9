import { api } from '../api.server';

export const loader = api('sessionsLoader');
export const action = api('sessionsAction');
