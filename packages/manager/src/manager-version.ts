/** This manager's version, shown by `GET /api/managerinfo/components` (kept equal to package.json by a test). */
export const MANAGER_VERSION = '0.1.0';
