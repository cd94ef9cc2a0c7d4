// The one-shot set-up of the compose replica set (docker-compose.yml, service mongo-init), run by
// mongosh logged in as root on mongo-1: initiates rs0 once, waits for mongo-1 to be its primary, and
// creates, once, the user the nodes log in as, with the name and password of the URI secret
// (/run/secrets/mongodb-uri), so that the password is written in one place.
const fs = require('fs');

try {
  rs.status();
} catch (e) {
  rs.initiate({_id: 'rs0', members: [
    {_id: 0, host: 'mongo-1:27017', priority: 2},
    {_id: 1, host: 'mongo-2:27017'},
    {_id: 2, host: 'mongo-3:27017'}]});
}
while (!db.hello().isWritablePrimary) {
  sleep(500);
}
print('replica set rs0 has a primary: ' + db.hello().primary);

const uri = fs.readFileSync('/run/secrets/mongodb-uri', 'utf8').trim();
const login = /^mongodb(?:\+srv)?:\/\/([^:@\/]+):([^@\/]*)@/.exec(uri);
if (login === null) {
  print('the URI secret names no user: no user created');
} else {
  const user = decodeURIComponent(login[1]);
  const admin = db.getSiblingDB('admin');
  if (admin.getUser(user) === null) {
    admin.createUser({user: user, pwd: decodeURIComponent(login[2]), roles: [
      {role: 'readWrite', db: 'shop'},          // the demo's orders, their view and ledger
      {role: 'readWrite', db: 'shop_copy'},     // conf/service.conf's shop-copy stream writes there
      {role: 'readWrite', db: 'tidemark'},      // the mongodb sink's positions, the MongoDB checkpoint store, dead letters
      {role: 'read', db: 'local'},              // the oplog: its window and the stream's headroom
      {role: 'clusterMonitor', db: 'admin'}]});  // serverStatus, replSetGetStatus
    print('created the user ' + user);
  }
}
