// The entity registry: everything the generic engine needs to list,
// create, edit and delete one kind of Admin API entity. Forms come from
// the Admin API's own schemas, never from here.

/**
 * Top-level entities, by the path segment of their Admin API collection.
 * columns: what the list shows; label: the field that names a row;
 * children: collections nested under one entity (credentials, targets).
 */
export const ENTITIES = {
  services: {
    title: 'Services', schema: 'services', label: 'name',
    columns: ['name', 'protocol', 'host', 'port', 'path', 'enabled'],
    children: ['routes', 'plugins', 'filter-chains'],
  },
  routes: {
    title: 'Routes', schema: 'routes', label: 'name',
    columns: ['name', 'protocols', 'hosts', 'paths', 'methods', 'service'],
    children: ['plugins', 'filter-chains'],
  },
  consumers: {
    title: 'Consumers', schema: 'consumers', label: 'username',
    columns: ['username', 'custom_id', 'tags'],
    children: ['key-auth', 'basic-auth', 'jwt', 'hmac-auth', 'oauth2', 'acls', 'plugins'],
  },
  plugins: {
    title: 'Plugins', schema: 'plugins', label: 'name', plugin: true,
    columns: ['name', 'instance_name', 'enabled', 'service', 'route', 'consumer'],
  },
  upstreams: {
    title: 'Upstreams', schema: 'upstreams', label: 'name',
    columns: ['name', 'algorithm', 'slots', 'tags'],
    children: ['targets'], health: true,
  },
  certificates: {
    title: 'Certificates', schema: 'certificates', label: 'id',
    columns: ['id', 'tags'], textareas: ['cert', 'key', 'cert_alt', 'key_alt'],
  },
  snis: {
    title: 'SNIs', schema: 'snis', label: 'name',
    columns: ['name', 'certificate', 'tags'],
  },
  ca_certificates: {
    title: 'CA certificates', schema: 'ca_certificates', label: 'id',
    columns: ['id', 'cert_digest', 'tags'], textareas: ['cert'],
  },
  keys: {
    title: 'Keys', schema: 'keys', label: 'name',
    columns: ['name', 'kid', 'tags'], textareas: ['jwk', 'private_key', 'public_key'],
  },
  'filter-chains': {
    title: 'Filter chains', schema: 'filter_chains', label: 'name',
    columns: ['name', 'enabled', 'service', 'route', 'filters'],
    optional: true, // served only with wasm = on (400 otherwise)
  },
  policies: {
    title: 'Policies', schema: 'policies', label: 'name',
    columns: ['name', 'tags'], textareas: ['rego'],
  },
};

/**
 * Nested collections: the path under the parent, the schema of their
 * entities, and the foreign field that points at the parent (set by the
 * path, so not shown in forms).
 */
export const CHILDREN = {
  routes: { title: 'Routes', schema: 'routes', parentField: 'service', label: 'name', columns: ['name', 'paths', 'hosts', 'methods'], top: 'routes' },
  plugins: { title: 'Plugins', schema: 'plugins', label: 'name', columns: ['name', 'enabled'], top: 'plugins', plugin: true },
  targets: { title: 'Targets', schema: 'targets', parentField: 'upstream', label: 'target', columns: ['target', 'weight'] },
  'key-auth': { title: 'Key-auth credentials', schema: 'keyauth_credentials', parentField: 'consumer', label: 'key', columns: ['key', 'tags'] },
  'basic-auth': { title: 'Basic-auth credentials', schema: 'basicauth_credentials', parentField: 'consumer', label: 'username', columns: ['username', 'tags'] },
  jwt: { title: 'JWT credentials', schema: 'jwt_secrets', parentField: 'consumer', label: 'key', columns: ['key', 'algorithm'], textareas: ['rsa_public_key'] },
  'hmac-auth': { title: 'HMAC credentials', schema: 'hmacauth_credentials', parentField: 'consumer', label: 'username', columns: ['username'] },
  oauth2: { title: 'OAuth2 applications', schema: 'oauth2_credentials', parentField: 'consumer', label: 'name', columns: ['name', 'client_id'] },
  'filter-chains': { title: 'Filter chains', schema: 'filter_chains', label: 'name', columns: ['name', 'enabled', 'filters'], top: 'filter-chains' },
  acls: { title: 'ACL groups', schema: 'acls', parentField: 'consumer', label: 'group', columns: ['group'] },
};

/** parentFieldFor: the foreign field a child's entities use for parent. */
export function parentFieldFor(parentKind, childKey) {
  const c = CHILDREN[childKey];
  if (c.parentField) return c.parentField;
  // Plugins point at their service, route or consumer.
  return { services: 'service', routes: 'route', consumers: 'consumer' }[parentKind];
}
