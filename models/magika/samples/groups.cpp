#include <iostream>
#include <map>
#include <string>
#include <vector>

// Groups words by their first letter and prints each group.
int main() {
    std::vector<std::string> words{"apple", "avocado", "banana", "blueberry", "cherry"};
    std::map<char, std::vector<std::string>> groups;
    for (const auto &word : words) {
        groups[word.front()].push_back(word);
    }
    for (const auto &[letter, members] : groups) {
        std::cout << letter << ':';
        for (const auto &m : members) std::cout << ' ' << m;
        std::cout << '\n';
    }
    return 0;
}
