import { api } from '../api.server';

export const loader = api('settingsLoader');
export const action = api('settingsAction');
